/**
 * Drain throughput of the dispatcher worker into one counting sink
 * (records/s), measured without the producer competing for the CPU:
 *
 *   1. arm the counting sink's gate and write one event: the worker takes it
 *      and blocks inside `consume` (Atomics.wait), so nothing reads the ring;
 *   2. prefill the ring with RECORDS events (3 fields, as in events.js), or
 *      with the spans of spans.js (two attributes at start, setAttribute,
 *      end: a start and an end record each), or with traces (a root span
 *      with two active child spans, two log events inside each: ten records
 *      of one trace id, the events carrying their span's ids), until RECORDS
 *      records;
 *   3. t0, open the gate; `await dispatcher.flush()` resolves once the
 *      worker has decoded and delivered everything and flushed the sink; t1.
 *
 *   throughput = RECORDS / (t1 - t0)
 *
 * The span workload gives the worker's cost per span: what it spends, on
 * its own core, for each span the producer writes.
 *
 * The interval includes one control-port round trip and one sink flush
 * (tens of microseconds against hundreds of milliseconds of draining).
 * The ring is 256 MiB so the prefill never drops; the script checks that
 * every prefilled record was written and delivered.
 *
 *   node bench/drain.js [--rounds N] [--records N] [--json]
 */
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TraceDispatcher } from 'ringtrace';
import { GATE_ARMED, GATE_HELD, GATE_OPEN } from './counting-sink.js';
import { fmt, isMain, machine, median, spread, table } from './measure.js';
import { SPANS_LOOP, START_OPTIONS } from './spans.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));

/** Ten records a trace: the root's start and end, and per child two events, its start and its end. */
const TRACE_LOOP = `function child(span) {
  log.info('step', { a: 1, b: 'two', c: true });
  log.info('step', { a: 2, b: 'two', c: true });
  span.end();
}
function root(span) {
  tracer.startActiveSpan('child', options, child);
  tracer.startActiveSpan('child', options, child);
  span.end();
}
return function traces(n) {
  for (let i = 0; i < n; i++) tracer.startActiveSpan('GET /items', options, root);
};`;

export async function runDrain({ rounds = 5, records = 2_000_000 } = {}) {
  // The traces' children and events find their parent through the active context.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const gateBuffer = new SharedArrayBuffer(4);
  const gate = new Int32Array(gateBuffer);
  const dispatcher = await TraceDispatcher.start({
    queueCapacity: 256 * 1024 * 1024,
    sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info', options: { gate: gateBuffer } }],
  });
  const log = dispatcher.logger('bench');
  const spans = new Function('tracer', 'options', SPANS_LOOP)(dispatcher.tracerProvider.getTracer('bench'), START_OPTIONS);
  const traces = new Function('tracer', 'options', 'log', TRACE_LOOP)(dispatcher.tracerProvider.getTracer('bench'), START_OPTIONS, log);
  const workloads = {
    events: (n) => {
      for (let i = 0; i < n; i++) log.info('msg', { a: i, b: 'two', c: true });
    },
    // Two records a span.
    spans: (n) => spans(n / 2),
    traces: (n) => traces(n / 10),
  };
  const rates = { events: [], spans: [], traces: [] };
  for (let r = -1; r < rounds; r++) {
    // Rounds alternate the workloads, so a slow stretch of the machine falls on both.
    const names = Object.keys(rates);
    for (const name of r % 2 === 0 ? names : names.reverse()) {
      Atomics.store(gate, 0, GATE_ARMED);
      log.info('gate', { a: 0, b: 'gate', c: false });
      // Wait (blocking this thread is fine here) until the worker holds the gate.
      while (Atomics.load(gate, 0) !== GATE_HELD) Atomics.wait(gate, 0, GATE_ARMED, 50);
      const before = dispatcher.producerStats();
      workloads[name](records);
      const after = dispatcher.producerStats();
      if (after.written - before.written !== records) throw new Error(`prefill wrote ${after.written - before.written} of ${records} ${name} records`);
      const t0 = process.hrtime.bigint();
      Atomics.store(gate, 0, GATE_OPEN);
      Atomics.notify(gate, 0);
      await dispatcher.flush();
      const t1 = process.hrtime.bigint();
      if (r >= 0) rates[name].push(records / (Number(t1 - t0) / 1e9));
    }
  }
  const stats = await dispatcher.shutdown();
  const delivered = stats.sinks.find((s) => s.name === 'count').delivered;
  const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), spread: spread(xs), rounds: xs });
  return {
    records,
    rounds,
    recordsPerSecond: summary(rates.events),
    spanRecordsPerSecond: summary(rates.spans),
    traceRecordsPerSecond: summary(rates.traces),
    accounting: { written: stats.written, dropped: stats.dropped, decoded: stats.decoded, delivered },
  };
}

export function drainReport({ records, recordsPerSecond: r, spanRecordsPerSecond: s, traceRecordsPerSecond: tr, accounting }) {
  const row = (label, x) => [label, fmt(x.median, 0), `${fmt(x.min, 0)}–${fmt(x.max, 0)}`, `${fmt(x.spread * 100, 0)}%`];
  return [
    table(
      ['worker drain into one counting sink', 'records/s median', 'range', 'spread'],
      [
        row(`${records} prefilled 3-field events`, r),
        row(`${records / 2} prefilled spans (2 records each)`, s),
        ...(tr === undefined ? [] : [row(`${records / 10} prefilled traces (3 spans, 4 events: 10 records each)`, tr)]),
      ],
    ),
    '',
    `drain = ${fmt(r.median / 1e6, 2)} M records/s   (target >= 3 M/s); spans: ${fmt((2 * 1e9) / s.median, 0)} ns of the worker's time a span` +
      (tr === undefined ? '' : `; traces: ${fmt((10 * 1e9) / tr.median, 0)} ns a trace`),
    `accounting: ${JSON.stringify(accounting)}`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const out = await runDrain({ rounds: opt('--rounds'), records: opt('--records') });
  if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), ...out }));
  else console.log(`${JSON.stringify(machine())}\n\n${drainReport(out)}`);
}
