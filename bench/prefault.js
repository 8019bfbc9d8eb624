/**
 * What the worker's prefault (RingReader.prefault, run by the drain loop
 * after start) saves the producing thread: the span loop of spans.js, on one
 * thread with no worker (a real RingTracerProvider, encoder and ring, as in
 * span-path.js), writing a ring for the first time,
 *
 *   fresh        a new ring, as the producer met it before the prefault;
 *   prefaulted   a new ring whose pages were touched first, as the worker
 *                now does (that touch timed apart: the cost per page).
 *
 * A new 64 MiB ring each round (above glibc's largest mmap threshold, so it
 * is fresh memory and not heap memory that calloc zeroed, and so faulted,
 * when it was made), the two alternating; page faults counted per round
 * from /proc/thread-self/stat (Linux).
 *
 *   node bench/prefault.js [--rounds N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { fmt, machine, median, table } from './measure.js';
import { SPANS_LOOP, START_OPTIONS } from './spans.js';

const OPS = 20_000;
const WARMUPS = 4;
const RING_BYTES = 64 * 1024 * 1024;
const DIST = fileURLToPath(new URL('../dist/src', import.meta.url));

const { RingTracerProvider } = await import(`${DIST}/capture/ring-tracer-provider.js`);
const { resolveSpanLimits, resolveSampler } = await import(`${DIST}/capture/span-config.js`);
const { allocateRing } = await import(`${DIST}/ring/layout.js`);
const { RingWriter } = await import(`${DIST}/ring/ring-writer.js`);
const { RingReader, PAGE_BYTES } = await import(`${DIST}/ring/ring-reader.js`);
const { RecordEncoder } = await import(`${DIST}/encoder/record-encoder.js`);

/** Minor page faults of this thread so far, or NaN where /proc does not say. */
function threadFaults() {
  try {
    return Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')[7]);
  } catch {
    return NaN;
  }
}

/** One round: a new ring (prefaulted or not), OPS spans into it. */
function round(prefault, loopFor) {
  const sab = allocateRing(RING_BYTES);
  const reader = new RingReader(sab);
  let prefaultNsPerPage = NaN;
  if (prefault) {
    const t0 = process.hrtime.bigint();
    reader.prefault(0, RING_BYTES);
    prefaultNsPerPage = Number(process.hrtime.bigint() - t0) / (RING_BYTES / PAGE_BYTES);
  }
  const loop = loopFor(new RecordEncoder(new RingWriter(sab)));
  const f0 = threadFaults();
  const t0 = process.hrtime.bigint();
  loop(OPS);
  const ns = Number(process.hrtime.bigint() - t0) / OPS;
  return { ns, faults: threadFaults() - f0, prefaultNsPerPage };
}

const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 20;
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
// One tracer per ring (the provider holds its encoder); one loop function, warmed on every kind of round.
const loopFn = new Function('tracer', 'options', SPANS_LOOP);
const hint = { generation: 1, enabled: () => true };
const loopFor = (encoder) =>
  loopFn(new RingTracerProvider(encoder, hint, resolveSpanLimits(undefined, {}), resolveSampler(undefined, undefined, {}), 3, 1e9).getTracer('bench'), START_OPTIONS);

const results = { fresh: [], prefaulted: [] };
for (let r = -WARMUPS; r < rounds; r++) {
  const order = r % 2 === 0 ? ['fresh', 'prefaulted'] : ['prefaulted', 'fresh'];
  for (const name of order) {
    const x = round(name === 'prefaulted', loopFor);
    if (r >= 0) results[name].push(x);
  }
}
const ratios = results.fresh.map((x, i) => x.ns / results.prefaulted[i].ns);
console.log(JSON.stringify(machine()));
console.log(
  table(
    [`span loop on a new ${RING_BYTES >> 20} MiB ring, one thread (${rounds} rounds of ${OPS})`, 'ns/span median', 'range', 'page faults per round (median)'],
    Object.entries(results).map(([name, xs]) => [
      name,
      fmt(median(xs.map((x) => x.ns))),
      `${fmt(Math.min(...xs.map((x) => x.ns)))}–${fmt(Math.max(...xs.map((x) => x.ns)))}`,
      fmt(median(xs.map((x) => x.faults)), 0),
    ]),
  ),
);
console.log(`fresh / prefaulted, round by round: median ${fmt(median(ratios), 2)}x`);
console.log(`the prefault itself (the worker's time, not the producer's): ${fmt(median(results.prefaulted.map((x) => x.prefaultNsPerPage)) / 1000, 2)} µs per ${PAGE_BYTES / 1024} KiB page`);
