/**
 * The worker's export path in one thread, with no worker and no network:
 * the steadiest measurement of what decoding, assembling and encoding cost a
 * span, for judging changes to them (bench/export-capacity.js measures the
 * real worker and transport).
 *
 * Each round, untimed, the real tracer writes OPS spans (the span of
 * spans.js: `startSpan` with 2 attributes, one `setAttribute`, `end`) into a
 * 16 MiB ring; then, timed, one candidate consumer takes them all:
 *
 *   decode             RecordDecoder over each record (ids kept as bytes and the
 *                      thread set, as the worker decodes with an otlp sink)
 *   + assemble         the records into an `otlp` SpanAssembler
 *   + encode           the spans in batches of 512 through OtlpTraceEncoder
 *                      (protobuf), as the otlp sink cuts them; with `--release`
 *                      each body is handed back at once, as the sink hands it
 *                      back once its request settled (so memory is reused, as in
 *                      a sink's steady state); without, every body is new memory
 *
 * Times are the process's CPU time (`process.cpuUsage()`: this thread, and
 * V8's helper threads for its garbage), not wall time, so that other
 * processes on a shared machine move them less; not the thread's schedstat,
 * which on this machine's kernel moves in scheduler ticks (4 ms, a fifth of a
 * round). Candidates alternate
 * round by round. With `--against DIR` the full path
 * (decode + assemble + encode) of this build's `dist/` and of another build's
 * `dist/` folder (inside the project, so `node_modules` resolves: `cp -r dist
 * dist-before`) are compared, the ratio taken round by round.
 *
 *   node bench/export-path.js [--rounds N] [--against path/to/other/dist] [--release]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, machine, median, table } from './measure.js';
import { SPANS_LOOP, START_OPTIONS } from './spans.js';

const OPS = 20_000;
const WARMUPS = 5;
const BATCH = 512;
const RELEASE = process.argv.includes('--release');
const DIST = fileURLToPath(new URL('../dist', import.meta.url));

/** A ring with the real tracer writing into it, and a consumer of `stage` over it, all from the build in `dist`. */
async function candidate(dist, stage, label) {
  const load = (path) => import(`${resolve(dist)}/src/${path}`);
  const { RingTracerProvider } = await load('capture/ring-tracer-provider.js');
  const { resolveSpanLimits, resolveSampler } = await load('capture/span-config.js');
  const { allocateRing } = await load('ring/layout.js');
  const { RingWriter } = await load('ring/ring-writer.js');
  const { RingReader } = await load('ring/ring-reader.js');
  const { RecordWalker } = await load('ring/framing.js');
  const { RecordEncoder } = await load('encoder/record-encoder.js');
  const { RecordDecoder, keepSpanIdBytes } = await load('decoder/record-decoder.js');
  const { MAIN_THREAD } = await load('control/control-protocol.js');
  const { SpanAssembler } = await load('sinks/span-assembler.js');
  const { OtlpTraceEncoder } = await load('sinks/otlp/trace-encoder.js');
  const sab = allocateRing(16 * 1024 * 1024);
  const reader = new RingReader(sab);
  const walker = new RecordWalker(reader.bytes);
  // As the worker reads the main thread's ring with an otlp sink registered: span infos keep their ids' bytes, spans carry their thread.
  keepSpanIdBytes?.(true);
  const decoder = new RecordDecoder(reader.bytes, { thread: MAIN_THREAD });
  const encoder = new RecordEncoder(new RingWriter(sab));
  const hint = { generation: 1, enabled: () => true };
  const provider = new RingTracerProvider({
    encoder, hint, limits: resolveSpanLimits(undefined, {}), sampler: resolveSampler(undefined, undefined, {}), spanLevel: 3, publishAfterMs: 1e9,
  });
  const produce = new Function('tracer', 'options', SPANS_LOOP)(provider.getTracer('bench'), START_OPTIONS);
  const otlp = new OtlpTraceEncoder({ 'service.name': 'bench', 'telemetry.sdk.language': 'nodejs' }, 'http/protobuf');
  let batch = [];
  let bytes = 0;
  const onSpan =
    stage === 'assemble'
      ? () => {}
      : (span) => {
          batch.push(span);
          if (batch.length === BATCH) {
            const body = otlp.encode(batch);
            bytes += body.length;
            if (RELEASE) otlp.release?.(body);
            batch = [];
          }
        };
  const assembler = new SpanAssembler(onSpan, {}, 'otlp');
  const consume = stage === 'decode' ? () => {} : (record) => assembler.consume(record);
  const mask = reader.mask;
  const drain = () => {
    const end = reader.available();
    let pos = reader.position;
    while (pos < end) {
      const size = walker.sizeAt(pos, end);
      if (size === 0) throw new Error(`unsound framing at ${pos}`);
      if (!walker.isPad(pos)) {
        const record = decoder.decode(pos & mask);
        if (record !== undefined && typeof record === 'object') consume(record);
      }
      pos += size;
    }
    reader.release(pos);
  };
  return { label, produce: () => produce(OPS), drain, ns: [], bytes: () => bytes };
}

function run(candidates, rounds) {
  for (let r = -WARMUPS; r < rounds; r++) {
    const order = r % 2 === 0 ? candidates : [...candidates].reverse();
    for (const c of order) {
      c.produce();
      const t0 = process.cpuUsage();
      c.drain();
      const t = process.cpuUsage(t0);
      const ns = ((t.user + t.system) * 1000) / OPS;
      if (r >= 0) c.ns.push(ns);
    }
  }
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];

const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 40;
const against = args.includes('--against') ? args[args.indexOf('--against') + 1] : undefined;
console.log(JSON.stringify(machine()));
if (RELEASE) console.log('bodies released after each encode');
const row = (label, ns) => [label, fmt(median(ns)), fmt(quantile(ns, 0.1)), `${fmt(Math.min(...ns))}–${fmt(Math.max(...ns))}`];
if (against === undefined) {
  const cs = [await candidate(DIST, 'decode', 'decode'), await candidate(DIST, 'assemble', '+ assemble'), await candidate(DIST, 'encode', '+ encode (protobuf, batches of 512)')];
  run(cs, rounds);
  console.log(table([`export path, one thread (${rounds} rounds of ${OPS} spans)`, 'ns/span median', 'fastest tenth', 'range'], cs.map((c) => row(c.label, c.ns))));
} else {
  const other = await candidate(against, 'encode', `other: ${against}`);
  const mine = await candidate(DIST, 'encode', 'this build: dist/');
  run([other, mine], rounds);
  const ratios = other.ns.map((x, i) => x / mine.ns[i]);
  console.log(table([`export path A/B, decode + assemble + encode, one thread (${rounds} rounds of ${OPS} spans)`, 'ns/span median', 'fastest tenth', 'range'], [row(other.label, other.ns), row(mine.label, mine.ns)]));
  console.log(`other / this, round by round: median ${fmt(median(ratios), 3)} (quartiles ${fmt(quantile(ratios, 0.25), 3)}–${fmt(quantile(ratios, 0.75), 3)})`);
}
