/**
 * Cost per span, side by side in one process: a span with two attributes at
 * start, one `setAttribute` and `end`,
 *
 *   ringtrace   dispatcher.tracerProvider.getTracer('bench'), one counting sink
 *   SDK         @opentelemetry/sdk-trace TracerProvider (the 3.x name of
 *               BasicTracerProvider) + BatchSpanProcessor + an exporter that
 *               only counts
 *
 * in four measurements:
 *
 *   1. disabled path (no context manager registered): the no-op API
 *      (`trace.getTracer` with no provider registered) against a ringtrace
 *      tracer whose target no sink accepts;
 *   2. startSpan and 3. startActiveSpan, with an AsyncLocalStorageContextManager
 *      registered globally for both;
 *   4. spans per second until drops begin: both at their defaults (16 MiB
 *      ring; BatchSpanProcessor maxQueueSize 2048, batch 512), a producer paced
 *      at rising rates for RAMP_MS each, yielding to the event loop every
 *      millisecond; drops = spans ended but never delivered (SDK: ended −
 *      exported after forceFlush; ringtrace: records dropped by the ring).
 *      Also a flat-out loop of 1,000,000 spans without yielding;
 *   5. ringtrace as users adopt it: `dispatcher.install()`, then the global
 *      API (`trace.getTracer`), enabled and disabled;
 *   6. 2 and 3 again with each candidate alone in its own process, as an
 *      application runs one or the other, so that neither's rounds collect
 *      the other's garbage (with `--sdk-config big-queue` the SDK keeps
 *      each round's spans in its queue until its flush). The SDK's process and ringtrace's run side
 *      by side and take turns, one round each (REPS pairs of processes,
 *      ISOLATED_ROUNDS rounds each), so the ratio is taken round pair by
 *      round pair, minutes of machine drift apart no more. Each round
 *      also gives the CPU time of all the process's threads from the
 *      loop's start to its flush's end, per span: what a span costs the
 *      machine, ringtrace's worker and both candidates' collections
 *      included.
 *
 * For 2, 3 and 6 the SDK runs at its defaults (maxQueueSize 2048, batches
 * of 512 exported as each fills) and every round's OPS spans are made in
 * batches of PACED_BATCH with a turn of the event loop after each, timed as
 * one block, yields included, for both candidates: the SDK's queue never
 * fills (its export of a full batch runs in promise callbacks, which a loop
 * that never yields holds off until the queue overflows), and its
 * BatchSpanProcessor works as it does in a server, exports in the timed
 * block. Spans the SDK dropped inside timed rounds are counted and reported
 * (0 is the point of pacing), as are ring drops.
 *
 * `--sdk-config big-queue` instead gives the SDK maxQueueSize 2^20 and times
 * unpaced OPS-span bursts (ringtrace too), the SDK's queued spans exported at
 * the flush between rounds: this keeps OPS spans alive per round and makes the
 * SDK's span dearer, so it inflates the ratio. `--sdk-config both` runs and
 * prints the two configurations side by side.
 *
 *   node bench/spans.js [--rounds N] [--sdk-config defaults|big-queue|both] [--json]
 */
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider as SdkTracerProvider } from '@opentelemetry/sdk-trace';
import { TraceDispatcher } from 'ringtrace';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fmt, interleave, isMain, machine, median, nsPerOp, table } from './measure.js';
import { activeLoop, spansLoop } from './span-workload.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));
const RAMP_RATES = [25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000];
const RAMP_MS = 500;
/** Spans per timed round of the enabled measurements. */
const OPS = 20_000;
/** Spans made between turns of the event loop in a paced round. */
const PACED_BATCH = 1_000;
/**
 * How the SDK is configured and its rounds made; each names its candidates,
 * and its ringtrace candidate is timed the same way.
 */
export const SDK_CONFIGS = {
  defaults: { bsp: undefined, batch: PACED_BATCH, sdk: 'SDK', ringtrace: 'ringtrace', about: `the SDK at its defaults, rounds paced in batches of ${PACED_BATCH}` },
  'big-queue': {
    bsp: { maxQueueSize: 1 << 20 },
    batch: OPS,
    sdk: 'SDK big queue',
    ringtrace: 'ringtrace bursts',
    about: `the SDK with maxQueueSize 2^20, unpaced ${OPS}-span bursts exported at the flush between rounds`,
  },
};
const FLAT_OUT_SPANS = 1_000_000;
/** BENCH_PROGRESS=1 prints each phase to stderr. */
const progress = process.env.BENCH_PROGRESS ? (message) => console.error(`[spans] ${message}`) : () => {};

/** A span exporter that only counts. */
class CountingExporter {
  exported = 0;
  export(spans, resultCallback) {
    this.exported += spans.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }
  shutdown() {
    return Promise.resolve();
  }
  forceFlush() {
    return Promise.resolve();
  }
}

function sdkProvider(bspOptions) {
  const exporter = new CountingExporter();
  // sdk-trace 3.x takes the exporter inside the options object.
  const processor = new BatchSpanProcessor({ exporter, ...bspOptions });
  const provider = new SdkTracerProvider({ spanProcessors: [processor] });
  return { provider, exporter };
}

export { ACTIVE_LOOP, SPANS_LOOP, START_OPTIONS } from './span-workload.js';

/**
 * `loop` in batches of `batch` spans with a turn of the event loop after
 * each (where the SDK's BatchSpanProcessor runs its export of a full batch);
 * a batch of OPS or more is the plain loop.
 */
function inBatches(loop, batch) {
  if (batch >= OPS) return loop;
  return async (n) => {
    for (let done = 0; done < n; done += batch) {
      loop(Math.min(batch, n - done));
      await yieldToEventLoop();
    }
  };
}

/** Count spans made by a loop (the SDK's drops are spans made − spans exported). */
function countingMade(loop, counter) {
  return (n) => {
    counter.made += n;
    return loop(n);
  };
}

/** Count ring records dropped inside a timed loop. */
function countingDrops(dispatcher, loop, onDrops) {
  return (n) => {
    const before = dispatcher.producerStats();
    loop(n);
    const after = dispatcher.producerStats();
    onDrops(after.dropped - before.dropped + after.oversize - before.oversize);
  };
}

/** The configurations `--sdk-config` names. */
export function sdkConfigKeys(flag = 'defaults') {
  if (flag === 'both') return Object.keys(SDK_CONFIGS);
  if (!(flag in SDK_CONFIGS)) throw new Error(`--sdk-config must be defaults, big-queue or both, not ${JSON.stringify(flag)}`);
  return [flag];
}

export async function runSpans({ rounds = 7, sdkConfigs = ['defaults'] } = {}) {
  const dispatcher = await TraceDispatcher.start({
    sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info,bench.off=off' }],
  });
  const provider = dispatcher.tracerProvider;
  if (provider === undefined) throw new Error('this build of ringtrace has no dispatcher.tracerProvider yet');
  let timedDrops = 0;
  const addDrops = (n) => {
    timedDrops += n;
  };

  progress('disabled path');
  // 1. Disabled path: nothing registered globally, so trace.getTracer is the no-op API.
  const noop = trace.getTracer('bench');
  const off = provider.getTracer('bench.off');
  const disabled = await interleave(
    [
      { name: 'no-op API startSpan', ops: 1_000_000, loop: spansLoop(noop) },
      { name: 'ringtrace disabled startSpan', ops: 1_000_000, loop: countingDrops(dispatcher, spansLoop(off), addDrops) },
      { name: 'no-op API startActiveSpan', ops: 1_000_000, loop: activeLoop(noop) },
      { name: 'ringtrace disabled startActiveSpan', ops: 1_000_000, loop: countingDrops(dispatcher, activeLoop(off), addDrops) },
    ],
    { rounds, warmups: 2 },
  );

  progress('enabled spans');
  // 2, 3. Enabled, with the AsyncLocalStorage context manager both would be installed with.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const ringTracer = provider.getTracer('bench');
  const enabled = {};
  const sdkTimedDrops = {};
  for (const key of sdkConfigs) {
    const config = SDK_CONFIGS[key];
    const sdk = sdkProvider(config.bsp);
    const sdkTracer = sdk.provider.getTracer('bench');
    const made = { made: 0 };
    const flushSdk = () => sdk.provider.forceFlush();
    const sdkLoop = (loop) => inBatches(countingMade(loop, made), config.batch);
    const ringLoop = (loop) => inBatches(countingDrops(dispatcher, loop, addDrops), config.batch);
    Object.assign(
      enabled,
      await interleave(
        [
          { name: `${config.sdk} startSpan`, ops: OPS, loop: sdkLoop(spansLoop(sdkTracer)), between: flushSdk },
          { name: `${config.ringtrace} startSpan`, ops: OPS, loop: ringLoop(spansLoop(ringTracer)), between: () => dispatcher.flush() },
          { name: `${config.sdk} startActiveSpan`, ops: OPS, loop: sdkLoop(activeLoop(sdkTracer)), between: flushSdk },
          { name: `${config.ringtrace} startActiveSpan`, ops: OPS, loop: ringLoop(activeLoop(ringTracer)), between: () => dispatcher.flush() },
        ],
        { rounds, warmups: 3 },
      ),
    );
    await sdk.provider.shutdown();
    sdkTimedDrops[key] = made.made - sdk.exporter.exported;
  }

  // 4. Spans per second until drops begin, both at their defaults.
  const ramp = [];
  for (const rate of RAMP_RATES) {
    progress(`ramp ${rate} spans/s`);
    const sdkDefault = sdkProvider(undefined);
    const sdkRun = await paced(spansLoop(sdkDefault.provider.getTracer('bench')), rate);
    await sdkDefault.provider.forceFlush();
    const sdkDropped = sdkRun.spans - sdkDefault.exporter.exported;
    await sdkDefault.provider.shutdown();
    await dispatcher.flush();
    const before = dispatcher.producerStats();
    const ringRun = await paced(spansLoop(ringTracer), rate);
    const after = dispatcher.producerStats();
    await dispatcher.flush();
    ramp.push({
      rate,
      sdk: { achieved: sdkRun.achieved, spans: sdkRun.spans, dropped: sdkDropped },
      ringtrace: { achieved: ringRun.achieved, spans: ringRun.spans, droppedRecords: after.dropped - before.dropped, records: after.offered - before.offered },
    });
  }

  progress('flat out');
  // Flat out: one loop of FLAT_OUT_SPANS spans that never yields.
  const sdkFlat = sdkProvider(undefined);
  spansLoop(sdkFlat.provider.getTracer('bench'))(FLAT_OUT_SPANS);
  await sdkFlat.provider.forceFlush();
  await sdkFlat.provider.shutdown();
  await dispatcher.flush();
  const beforeFlat = dispatcher.producerStats();
  const flatStart = process.hrtime.bigint();
  spansLoop(ringTracer)(FLAT_OUT_SPANS);
  const flatNs = Number(process.hrtime.bigint() - flatStart) / FLAT_OUT_SPANS;
  const afterFlat = dispatcher.producerStats();
  await dispatcher.flush();
  const flatOut = {
    spans: FLAT_OUT_SPANS,
    sdkExported: sdkFlat.exporter.exported,
    ringtraceRecords: afterFlat.offered - beforeFlat.offered,
    ringtraceDroppedRecords: afterFlat.dropped - beforeFlat.dropped,
    ringtraceNsPerSpan: flatNs,
  };

  // As users adopt it: dispatcher.install() (provider, context manager and
  // propagators as globals), then the global API, which adds the API's
  // ProxyTracer hop in front of ringtrace's tracer.
  let installed = {};
  if (typeof dispatcher.install === 'function') {
    progress('installed');
    context.disable();
    dispatcher.install({ replace: true });
    const viaApi = trace.getTracer('bench');
    const offViaApi = trace.getTracer('bench.off');
    installed = await interleave(
      [
        { name: 'ringtrace startSpan, install() + global API', ops: OPS, loop: countingDrops(dispatcher, spansLoop(viaApi), addDrops), between: () => dispatcher.flush() },
        {
          name: 'ringtrace startActiveSpan, install() + global API',
          ops: OPS,
          loop: countingDrops(dispatcher, activeLoop(viaApi), addDrops),
          between: () => dispatcher.flush(),
        },
        { name: 'ringtrace disabled startSpan, install() + global API', ops: 1_000_000, loop: countingDrops(dispatcher, spansLoop(offViaApi), addDrops) },
      ],
      { rounds, warmups: 2 },
    );
    dispatcher.uninstall();
  }

  const stats = await dispatcher.shutdown();
  context.disable();
  const sink = stats.sinks.find((s) => s.name === 'count');
  progress('each alone in its own process');
  const isolated = await runIsolated(sdkConfigs);
  return {
    rounds,
    sdkConfigs,
    results: { ...disabled, ...enabled, ...installed },
    isolated,
    timedDrops,
    sdkTimedDrops,
    ramp,
    flatOut,
    accounting: { offered: stats.offered, written: stats.written, dropped: stats.dropped, decoded: stats.decoded, delivered: sink.delivered, filtered: sink.filtered },
  };
}

/** The candidate pairs of a configuration, SDK first. */
function pairs(key) {
  const { sdk, ringtrace } = SDK_CONFIGS[key];
  return ['startSpan', 'startActiveSpan'].map((api) => [`${sdk} ${api}`, `${ringtrace} ${api}`]);
}
/** Fresh pairs of processes per pair of candidates, and timed rounds per process. */
const REPS = 2;
const ISOLATED_ROUNDS = 12;
const SERVE_WARMUPS = 8;

/**
 * Each candidate alone in its own process (`--serve NAME`), two processes
 * side by side taking turns: one round of one, then one round of the other
 * (the order flips every round), the idle one waiting on its stdin. So each
 * has its own heap and JIT state, as an application running one or the
 * other, while the machine's slow stretches (this host's CPU speed changes
 * for tens of rounds at a time) fall on both alike; the ratio is taken
 * round pair by round pair.
 */
async function runIsolated(sdkConfigs) {
  const out = {};
  for (const [key, [a, b]] of sdkConfigs.flatMap((key) => pairs(key).map((pair) => [key, pair]))) {
    const rounds = { [a]: { wall: [], cpu: [], process: [], lost: 0 }, [b]: { wall: [], cpu: [], process: [], lost: 0 } };
    const ratios = { wall: [], cpu: [], process: [] };
    for (let rep = 0; rep < REPS; rep++) {
      const children = { [a]: await serve(a, key), [b]: await serve(b, key) };
      for (let r = 0; r < ISOLATED_ROUNDS; r++) {
        const order = (r + rep) % 2 === 0 ? [a, b] : [b, a];
        const ns = {};
        for (const name of order) ns[name] = await children[name].round();
        for (const name of order) {
          rounds[name].wall.push(ns[name].wall);
          rounds[name].cpu.push(ns[name].cpu);
          rounds[name].process.push(ns[name].process);
          rounds[name].lost += ns[name].lost;
        }
        ratios.wall.push(ns[a].wall / ns[b].wall);
        ratios.cpu.push(ns[a].cpu / ns[b].cpu);
        ratios.process.push(ns[a].process / ns[b].process);
      }
      for (const name of [a, b]) await children[name].close();
    }
    for (const name of [a, b]) {
      const r = rounds[name];
      out[name] = {
        median: median(r.wall),
        min: Math.min(...r.wall),
        max: Math.max(...r.wall),
        cpuMedian: median(r.cpu),
        processMedian: median(r.process),
        rounds: r.wall.length,
        lost: r.lost,
      };
    }
    out[`${a} / ${b}`] = { wall: quartiles(ratios.wall), cpu: quartiles(ratios.cpu), process: quartiles(ratios.process) };
  }
  return out;
}

function quartiles(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q) => sorted[Math.floor((sorted.length - 1) * q)];
  return { median: median(values), low: at(0.25), high: at(0.75) };
}

/** A `--serve NAME` child, warmed up; `round()` runs one timed round in it. */
async function serve(name, sdkConfig) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', name, '--sdk-config', sdkConfig], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`bench child ${name} exited`);
    return JSON.parse(value);
  };
  await next(); // ready
  return {
    round: () => {
      child.stdin.write('round\n');
      return next();
    },
    close: async () => {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

/**
 * The child of runIsolated: one candidate, warmed up, then a timed round of
 * OPS spans (and its untimed flush) per line on stdin, answered with a line
 * of JSON; it ends when stdin does. Besides the producing thread's wall and
 * on-CPU time in the loop, `process` is the CPU time of all the process's
 * threads from the loop's start to the flush's end, per span: everything a
 * span costs the machine (ringtrace's worker decoding it, both candidates'
 * garbage collection on V8's helper threads, the SDK's export).
 */
const TRAILING_MS = 5;
async function serveChild(name, sdkConfig) {
  const config = SDK_CONFIGS[sdkConfig];
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  let tracer;
  let between;
  let done;
  // Spans lost so far: the SDK's made − exported, ringtrace's ring records dropped.
  let lost;
  const made = { made: 0 };
  if (name.startsWith('SDK')) {
    const sdk = sdkProvider(config.bsp);
    tracer = sdk.provider.getTracer('bench');
    between = () => sdk.provider.forceFlush();
    done = () => sdk.provider.shutdown();
    lost = () => made.made - sdk.exporter.exported;
  } else {
    const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info' }] });
    tracer = dispatcher.tracerProvider.getTracer('bench');
    between = () => dispatcher.flush();
    done = () => dispatcher.shutdown();
    lost = () => {
      const counts = dispatcher.producerStats();
      return counts.dropped + counts.oversize;
    };
  }
  const loop = inBatches(countingMade(name.endsWith('startActiveSpan') ? activeLoop(tracer) : spansLoop(tracer), made), config.batch);
  // Past the first rounds' transients (JIT tiers, the heap growing to its working size).
  for (let r = 0; r < SERVE_WARMUPS; r++) {
    await nsPerOp(loop, OPS);
    await between();
  }
  console.log(JSON.stringify({ ready: name }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'round') continue;
    const lost0 = lost();
    const cpu0 = process.cpuUsage();
    const ns = await nsPerOp(loop, OPS);
    await between();
    // What trails the flush counts too: the worker polls the empty ring for
    // some turns before it sleeps, and collections finish on helper threads.
    await sleep(TRAILING_MS);
    const cpu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ ...ns, process: ((cpu.user + cpu.system) * 1000) / OPS, lost: lost() - lost0 }));
  }
  await done();
}

/** Run `loop` at `rate` spans/s for RAMP_MS, in slices, yielding every millisecond. */
async function paced(loop, rate) {
  const start = performance.now();
  let spans = 0;
  let elapsed = 0;
  while ((elapsed = performance.now() - start) < RAMP_MS) {
    const due = Math.min(Math.floor((rate * elapsed) / 1000) - spans, Math.ceil(rate / 1000) * 4);
    if (due > 0) {
      loop(due);
      spans += due;
    }
    await yieldToEventLoop();
  }
  return { spans, achieved: spans / ((performance.now() - start) / 1000) };
}

export function spansReport({ results, isolated, timedDrops, sdkTimedDrops, sdkConfigs = ['defaults'], ramp, flatOut, accounting }) {
  const rows = Object.entries(results).map(([name, x]) => [name, fmt(x.median), `${fmt(x.min)}–${fmt(x.max)}`, `${fmt(x.spread * 100, 0)}%`, fmt(x.cpuMedian)]);
  const ratio = (a, b) =>
    `${fmt(results[a].median / results[b].median, 2)}x wall, ${fmt(results[a].cpuMedian / results[b].cpuMedian, 2)}x on-CPU`;
  const isoRatio = (a, b) => {
    const pairs = isolated[`${a} / ${b}`];
    const q = (x) => `${fmt(x.median, 2)}x (quartiles ${fmt(x.low, 2)}–${fmt(x.high, 2)})`;
    return (
      `${q(pairs.wall)} wall, ${q(pairs.cpu)} on-CPU, round pair by round pair; ratio of the medians ${fmt(isolated[a].median / isolated[b].median, 2)}x wall\n` +
      `    whole process (all threads, loop and flush): ${q(pairs.process)}`
    );
  };
  const rampRows = ramp.map((x) => [
    x.rate,
    fmt(x.sdk.achieved, 0),
    `${x.sdk.dropped} / ${x.sdk.spans}`,
    fmt(x.ringtrace.achieved, 0),
    `${x.ringtrace.droppedRecords} / ${x.ringtrace.records}`,
  ]);
  const cleanSdk = ramp.filter((x) => x.sdk.dropped === 0).map((x) => x.sdk.achieved);
  const cleanRing = ramp.filter((x) => x.ringtrace.droppedRecords === 0).map((x) => x.ringtrace.achieved);
  const perConfig = (line) => sdkConfigs.flatMap((key) => line(key, SDK_CONFIGS[key]));
  return [
    table(['span: 2 attributes at start, setAttribute, end', 'wall ns/span median', 'range', 'spread', 'on-CPU ns/span median'], rows),
    '',
    ...perConfig((key, c) => [
      `${c.about}:`,
      `  ${c.sdk} / ${c.ringtrace}, startSpan       = ${ratio(`${c.sdk} startSpan`, `${c.ringtrace} startSpan`)}   (target >= 8x)`,
      `  ${c.sdk} / ${c.ringtrace}, startActiveSpan = ${ratio(`${c.sdk} startActiveSpan`, `${c.ringtrace} startActiveSpan`)}   (target >= 8x)`,
      `  SDK spans dropped inside timed rounds: ${sdkTimedDrops?.[key] ?? 'not counted'}`,
    ]),
    `ringtrace disabled / no-op API, startSpan       = ${ratio('ringtrace disabled startSpan', 'no-op API startSpan')}   (target <= 2x)`,
    `ringtrace disabled / no-op API, startActiveSpan = ${ratio('ringtrace disabled startActiveSpan', 'no-op API startActiveSpan')}   (target <= 2x)`,
    `ring records dropped inside timed loops: ${timedDrops}`,
    '',
    table(
      [
        `each alone in its own process, taking turns (${REPS} processes x ${ISOLATED_ROUNDS} rounds)`,
        'wall ns/span median',
        'range',
        'on-CPU ns/span median',
        'whole process CPU ns/span',
        'spans lost in timed rounds',
      ],
      Object.entries(isolated)
        .filter(([name]) => !name.includes(' / '))
        .map(([name, x]) => [name, fmt(x.median), `${fmt(x.min)}–${fmt(x.max)}`, fmt(x.cpuMedian), fmt(x.processMedian), x.lost ?? 'not counted']),
    ),
    '',
    ...perConfig((key, c) => [
      `${c.about}:`,
      `  ${c.sdk} / ${c.ringtrace}, startSpan, own processes       = ${isoRatio(`${c.sdk} startSpan`, `${c.ringtrace} startSpan`)}   (target >= 8x)`,
      `  ${c.sdk} / ${c.ringtrace}, startActiveSpan, own processes = ${isoRatio(`${c.sdk} startActiveSpan`, `${c.ringtrace} startActiveSpan`)}   (target >= 8x)`,
    ]),
    '',
    table(['paced rate (spans/s)', 'SDK achieved', 'SDK dropped/spans', 'ringtrace achieved', 'ringtrace dropped/records'], rampRows),
    '',
    `highest paced rate without drops: SDK ${cleanSdk.length ? fmt(Math.max(...cleanSdk), 0) : 'none'} spans/s, ringtrace ${cleanRing.length ? fmt(Math.max(...cleanRing), 0) : 'none'} spans/s`,
    `flat out, ${flatOut.spans} spans in one loop: SDK exported ${flatOut.sdkExported} (${fmt((100 * flatOut.sdkExported) / flatOut.spans, 2)}%); ` +
      `ringtrace dropped ${flatOut.ringtraceDroppedRecords} of ${flatOut.ringtraceRecords} records (${fmt((100 * (flatOut.ringtraceRecords - flatOut.ringtraceDroppedRecords)) / flatOut.ringtraceRecords, 2)}% kept) at ${fmt(flatOut.ringtraceNsPerSpan)} ns/span`,
    `ringtrace accounting: ${JSON.stringify(accounting)}`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : undefined;
  if (args.includes('--serve')) {
    await serveChild(args[args.indexOf('--serve') + 1], args[args.indexOf('--sdk-config') + 1]);
    process.exit(0);
  }
  const sdkConfigs = sdkConfigKeys(args.includes('--sdk-config') ? args[args.indexOf('--sdk-config') + 1] : undefined);
  const out = await runSpans({ rounds, sdkConfigs });
  if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), ...out }));
  else console.log(`${JSON.stringify(machine())}\n\n${spansReport(out)}`);
}
