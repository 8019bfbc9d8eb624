/**
 * The span path on the producing thread alone, with no worker thread beside
 * it: the steadiest measurement on a shared machine, for judging changes of
 * a few percent. A span with two attributes at start, one `setAttribute` and
 * `end` (the loop of spans.js), through a real RingTracerProvider
 *
 *   capture    over a stub encoder that writes nothing: the capture layer
 *              (context, ids, sampler, the span object, attributes, clock);
 *   + encoder  over the real encoder and a 16 MiB ring whose read position
 *              this thread releases between rounds (nothing decodes it).
 *
 * With `--active` the loop is spans.js's startActiveSpan one (the span made
 * active around a callback that sets the attribute and ends it).
 *
 * With `--against DIR` it is an A/B instead: the same loop through this
 * build (`dist/`) and through another build's `dist/` folder (say a copy of
 * `dist/` made before a change, inside the project so that `node_modules`
 * resolves: `cp -r dist dist-before`), rounds alternating, and the ratio
 * taken round by round, so that the machine's slow stretches hit both alike.
 *
 * With `--capture` as well, both candidates run over the stub encoder.
 *
 *   node bench/span-path.js [--rounds N] [--active] [--against path/to/other/dist [--capture]]
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { fmt, machine, median, table } from './measure.js';
// The workload of spans.js; a fresh function per candidate, so no loop's call-site feedback sees another's classes.
import { ACTIVE_LOOP, SPANS_LOOP, START_OPTIONS } from './spans.js';

const OPS = 20_000;
const WARMUPS = 5;
const DIST = fileURLToPath(new URL('../dist', import.meta.url));

/** The span loop through the build in `dist` (over a stub or the real encoder), and what to do between rounds. */
async function candidate(dist, withEncoder) {
  const load = (path) => import(`${resolve(dist)}/src/${path}`);
  const { RingTracerProvider } = await load('capture/ring-tracer-provider.js');
  const { resolveSpanLimits, resolveSampler } = await load('capture/span-config.js');
  let encoder = { maxArrayLength: 1024, spanComplete: () => true, spanOpened: () => true };
  let between = () => {};
  if (withEncoder) {
    const { allocateRing } = await load('ring/layout.js');
    const { RingWriter } = await load('ring/ring-writer.js');
    const { RingReader } = await load('ring/ring-reader.js');
    const { RecordEncoder } = await load('encoder/record-encoder.js');
    const sab = allocateRing(16 * 1024 * 1024);
    const reader = new RingReader(sab);
    encoder = new RecordEncoder(new RingWriter(sab));
    between = () => reader.release(reader.available());
  }
  // Every target enabled, default limits and sampler, level info, never published by time.
  const hint = { generation: 1, enabled: () => true };
  const limits = resolveSpanLimits(undefined, {});
  const sampler = resolveSampler(undefined, undefined, {});
  // Builds from before the provider took one options object took them one by one.
  const provider =
    RingTracerProvider.length > 1
      ? new RingTracerProvider(encoder, hint, limits, sampler, 3, 1e9)
      : new RingTracerProvider({ encoder, hint, limits, sampler, spanLevel: 3, publishAfterMs: 1e9 });
  return { loop: new Function('tracer', 'options', LOOP)(provider.getTracer('bench'), START_OPTIONS), between, ns: [] };
}

/** Rounds of every candidate, alternating (the order flips each round). */
function run(candidates, rounds) {
  for (let r = -WARMUPS; r < rounds; r++) {
    const order = r % 2 === 0 ? candidates : [...candidates].reverse();
    for (const c of order) {
      const t0 = process.hrtime.bigint();
      c.loop(OPS);
      const ns = Number(process.hrtime.bigint() - t0) / OPS;
      c.between();
      if (r >= 0) c.ns.push(ns);
    }
  }
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];

const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 40;
const against = args.includes('--against') ? args[args.indexOf('--against') + 1] : undefined;
const LOOP = args.includes('--active') ? ACTIVE_LOOP : SPANS_LOOP;
const path = args.includes('--active') ? 'startActiveSpan path' : 'span path';
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
console.log(JSON.stringify(machine()));
if (against === undefined) {
  const capture = await candidate(DIST, false);
  const full = await candidate(DIST, true);
  run([capture, full], rounds);
  const encoderShare = full.ns.map((x, i) => x - capture.ns[i]);
  console.log(
    table(
      [`${path}, one thread, no worker (${rounds} rounds of ${OPS})`, 'ns/span median', 'fastest tenth', 'range'],
      [
        ['capture (stub encoder)', fmt(median(capture.ns)), fmt(quantile(capture.ns, 0.1)), `${fmt(Math.min(...capture.ns))}–${fmt(Math.max(...capture.ns))}`],
        ['capture + encoder + ring', fmt(median(full.ns)), fmt(quantile(full.ns, 0.1)), `${fmt(Math.min(...full.ns))}–${fmt(Math.max(...full.ns))}`],
        ['encoder + ring (difference, round by round)', fmt(median(encoderShare)), '', ''],
      ],
    ),
  );
} else {
  // --capture: both over the stub encoder, to see what the capture layer alone changed.
  const withEncoder = !args.includes('--capture');
  const other = await candidate(against, withEncoder);
  const mine = await candidate(DIST, withEncoder);
  run([other, mine], rounds);
  const ratios = other.ns.map((x, i) => x / mine.ns[i]);
  console.log(
    table(
      [`${path} A/B, one thread, no worker (${rounds} rounds of ${OPS})`, 'ns/span median', 'fastest tenth'],
      [
        [`other: ${against}`, fmt(median(other.ns)), fmt(quantile(other.ns, 0.1))],
        ['this build: dist/', fmt(median(mine.ns)), fmt(quantile(mine.ns, 0.1))],
      ],
    ),
  );
  console.log(`other / this, round by round: median ${fmt(median(ratios), 3)} (quartiles ${fmt(quantile(ratios, 0.25), 3)}–${fmt(quantile(ratios, 0.75), 3)})`);
}
