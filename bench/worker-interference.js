/**
 * What the worker draining beside the producer costs the producing thread:
 * the span loop of spans.js through a real dispatcher (one counting sink),
 * in rounds that alternate between
 *
 *   running   the worker drains while the producer writes, as always;
 *   held      the worker is blocked inside the counting sink (its gate, as
 *             in drain.js) for the whole round, so nothing reads the ring
 *             and the worker neither decodes nor collects garbage; it
 *             drains the round after it is timed.
 *
 * Same process, same compiled code, rounds taken in turns: the ratio
 * running / held, round by round, is the worker's share of a span's wall
 * time (cache traffic, the V8 helper threads of its collections, one core
 * fewer for everything else). Wall and on-CPU time of the producing thread.
 *
 *   node bench/worker-interference.js [--rounds N]
 */
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TraceDispatcher } from 'ringtrace';
import { GATE_ARMED, GATE_HELD, GATE_OPEN } from './counting-sink.js';
import { fmt, machine, median, nsPerOp, table } from './measure.js';
import { SPANS_LOOP, START_OPTIONS } from './spans.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));
const OPS = 20_000;
const WARMUPS = 6;

const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 40;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const gateBuffer = new SharedArrayBuffer(4);
const gate = new Int32Array(gateBuffer);
const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info', options: { gate: gateBuffer } }] });
const loop = new Function('tracer', 'options', SPANS_LOOP)(dispatcher.tracerProvider.getTracer('bench'), START_OPTIONS);
const gateTracer = dispatcher.tracerProvider.getTracer('gate');

/** One timed round of OPS spans, the worker held or running; the ring is drained (untimed) after it. */
async function round(held) {
  if (held) {
    Atomics.store(gate, 0, GATE_ARMED);
    gateTracer.startSpan('gate').end();
    // Blocking this thread is fine here: wait until the worker holds the gate.
    while (Atomics.load(gate, 0) !== GATE_HELD) Atomics.wait(gate, 0, GATE_ARMED, 50);
  }
  const ns = await nsPerOp(loop, OPS);
  if (held) {
    Atomics.store(gate, 0, GATE_OPEN);
    Atomics.notify(gate, 0);
  }
  await dispatcher.flush();
  return ns;
}

const results = { running: [], held: [] };
for (let r = -WARMUPS; r < rounds; r++) {
  const order = r % 2 === 0 ? ['running', 'held'] : ['held', 'running'];
  for (const name of order) {
    const ns = await round(name === 'held');
    if (r >= 0) results[name].push(ns);
  }
}
const stats = await dispatcher.stats();
await dispatcher.shutdown();

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];
const ratios = (key) => results.running.map((x, i) => x[key] / results.held[i][key]);
console.log(JSON.stringify(machine()));
console.log(
  table(
    [`span loop beside the worker (${rounds} rounds of ${OPS} each way, in turns)`, 'wall ns/span median', 'range', 'on-CPU ns/span median'],
    Object.entries(results).map(([name, xs]) => [
      `worker ${name}`,
      fmt(median(xs.map((x) => x.wall))),
      `${fmt(Math.min(...xs.map((x) => x.wall)))}–${fmt(Math.max(...xs.map((x) => x.wall)))}`,
      fmt(median(xs.map((x) => x.cpu))),
    ]),
  ),
);
for (const key of ['wall', 'cpu']) {
  const r = ratios(key);
  console.log(`running / held, ${key === 'wall' ? 'wall' : 'on-CPU'}, round by round: median ${fmt(median(r), 3)} (quartiles ${fmt(quantile(r, 0.25), 3)}–${fmt(quantile(r, 0.75), 3)})`);
}
console.log(`accounting: written ${stats.written}, dropped ${stats.dropped}, decoded ${stats.decoded}`);
