/**
 * Drain throughput of the dispatcher worker into one counting sink
 * (records/s), measured without the producer competing for the CPU:
 *
 *   1. arm the counting sink's gate and write one event: the worker takes it
 *      and blocks inside `consume` (Atomics.wait), so nothing reads the ring;
 *   2. prefill the ring with RECORDS events (3 fields, as in events.js);
 *   3. t0, open the gate; `await dispatcher.flush()` resolves once the
 *      worker has decoded and delivered everything and flushed the sink; t1.
 *
 *   throughput = RECORDS / (t1 - t0)
 *
 * The interval includes one control-port round trip and one sink flush
 * (tens of microseconds against hundreds of milliseconds of draining).
 * The ring is 256 MiB so the prefill never drops; the script checks that
 * every prefilled record was written and delivered.
 *
 *   node bench/drain.js [--rounds N] [--records N] [--json]
 */
import { fileURLToPath } from 'node:url';
import { TraceDispatcher } from 'ringtrace';
import { GATE_ARMED, GATE_HELD, GATE_OPEN } from './counting-sink.js';
import { fmt, isMain, machine, median, spread, table } from './measure.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));

export async function runDrain({ rounds = 5, records = 2_000_000 } = {}) {
  const gateBuffer = new SharedArrayBuffer(4);
  const gate = new Int32Array(gateBuffer);
  const dispatcher = await TraceDispatcher.start({
    queueCapacity: 256 * 1024 * 1024,
    sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info', options: { gate: gateBuffer } }],
  });
  const log = dispatcher.logger('bench');
  const rates = [];
  let delivered = 0;
  for (let r = -1; r < rounds; r++) {
    Atomics.store(gate, 0, GATE_ARMED);
    log.info('gate', { a: 0, b: 'gate', c: false });
    // Wait (blocking this thread is fine here) until the worker holds the gate.
    while (Atomics.load(gate, 0) !== GATE_HELD) Atomics.wait(gate, 0, GATE_ARMED, 50);
    const before = dispatcher.producerStats();
    for (let i = 0; i < records; i++) log.info('msg', { a: i, b: 'two', c: true });
    const after = dispatcher.producerStats();
    if (after.written - before.written !== records) throw new Error(`prefill dropped ${records - (after.written - before.written)} records`);
    const t0 = process.hrtime.bigint();
    Atomics.store(gate, 0, GATE_OPEN);
    Atomics.notify(gate, 0);
    await dispatcher.flush();
    const t1 = process.hrtime.bigint();
    if (r >= 0) rates.push(records / (Number(t1 - t0) / 1e9));
  }
  const stats = await dispatcher.shutdown();
  delivered = stats.sinks.find((s) => s.name === 'count').delivered;
  return {
    records,
    rounds,
    recordsPerSecond: { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), spread: spread(rates), rounds: rates },
    accounting: { written: stats.written, dropped: stats.dropped, decoded: stats.decoded, delivered },
  };
}

export function drainReport({ records, recordsPerSecond: r, accounting }) {
  return [
    table(
      ['worker drain into one counting sink', 'records/s median', 'range', 'spread'],
      [[`${records} prefilled 3-field events`, fmt(r.median, 0), `${fmt(r.min, 0)}–${fmt(r.max, 0)}`, `${fmt(r.spread * 100, 0)}%`]],
    ),
    '',
    `drain = ${fmt(r.median / 1e6, 2)} M records/s   (target >= 3 M/s); accounting: ${JSON.stringify(accounting)}`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const out = await runDrain({ rounds: opt('--rounds'), records: opt('--records') });
  if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), ...out }));
  else console.log(`${JSON.stringify(machine())}\n\n${drainReport(out)}`);
}
