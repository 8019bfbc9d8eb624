/**
 * Spans exported over OTLP/HTTP protobuf as a user would run each candidate,
 * each alone in its own process:
 *
 *   SDK        @opentelemetry/sdk-trace TracerProvider + BatchSpanProcessor at
 *              its defaults + @opentelemetry/exporter-trace-otlp-proto at its
 *              defaults, registered as the global provider with an
 *              AsyncLocalStorageContextManager (what install() registers for
 *              ringtrace)
 *   ringtrace  TraceDispatcher.start({ sinks: [otlp] }) + install(), defaults
 *   baseline   the same pacing loop through the OpenTelemetry API with no
 *              provider registered (its no-op tracer): the cost of the
 *              application and the harness, subtracted from both
 *
 * to a receiver in another process on loopback (bench/otlp-receiver.js) that
 * answers at once and counts the spans: `decode` mode decodes every body with
 * protobufjs and the official opentelemetry-proto schema, `count` mode walks
 * the wire format only (capacity runs, where decoding would bottleneck).
 *
 * Spans are produced at a fixed rate from 1 ms setInterval ticks, each tick
 * making what the rate owes since the start by performance.now() (so a late
 * tick catches up); 0.5 s of warm-up, then a 3 s window, in which:
 *
 *   main thread CPU    /proc/thread-self/schedstat, minus the baseline's
 *   whole process CPU  process.cpuUsage() (all threads), minus the baseline's
 *   both per span      over the spans produced in the window (the baseline
 *                      scaled to the candidate's number of ticks)
 *   with drain         whole-process CPU from the first tick to the end of the
 *                      shutdown, over every span produced (the backlog a
 *                      candidate that fell behind still had to send)
 *   RSS peak           process.memoryUsage.rss() sampled every tick
 *   event-loop delay   perf_hooks.monitorEventLoopDelay, p99, less its 10 ms
 *                      sampling interval (which the histogram includes)
 *
 * After the window the candidate shuts down (the SDK: provider.shutdown();
 * ringtrace: flush(), inspectSink(), shutdown()), then the receiver is asked
 * what it counted: delivered = spans counted / spans produced (warm-up
 * included). Each rate runs `runs` times, the three processes' order
 * rotating from run to run; figures are min–max over the runs, and the
 * SDK / ringtrace ratios are taken run by run.
 *
 * The ramp, per candidate: one run at 25,000 spans/s, doubling while at least
 * 99.9 % is delivered and the rate is met (≥ 99 % of it produced), halving
 * instead if the first step fails; then bisecting between the last good and
 * the first bad rate `bisections` times: the highest good rate.
 *
 *   node bench/export.js [--quick] [--rates 50000,200000] [--runs 3] [--json]
 *                        [--no-ramp | --ramp] [--ramp-from 25000] [--ramp-max N]
 *                        [--bisections 2] [--receiver decode|count] [--ramp-receiver count|decode]
 *                        [--warmup-ms 500] [--window-ms 3000] [--otlp-options JSON] [--cpu-prof DIR]
 *
 * `--otlp-options` adds options to ringtrace's otlp sink (diagnosis only: the
 * comparison is at the defaults, and the report says when they are not).
 * `--cpu-prof DIR` writes a V8 CPU profile of each candidate's threads
 * (ringtrace's worker included) to DIR, for where the time goes; profiling
 * changes the figures.
 *
 * `--quick`: 1 run, 0.2 s warm-up and a 1 s window, no ramp unless `--ramp`.
 * Run after `npm run build` (it imports the built package as `ringtrace`).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fmt, isMain, machine, table, threadCpuNs } from './measure.js';
import { spansLoop } from './span-workload.js';

const SELF = fileURLToPath(import.meta.url);
const RECEIVER = fileURLToPath(new URL('./otlp-receiver.js', import.meta.url));
export const CANDIDATES = ['sdk', 'ringtrace'];
const LABEL = { sdk: 'SDK', ringtrace: 'ringtrace', baseline: 'baseline' };
/** Delivered share and share of the rate produced for a ramp step to count as kept up. */
const RAMP_DELIVERED = 0.999;
const RAMP_ACHIEVED = 0.99;
/** How long a child may take from start to its result before the bench gives up on it. */
const CHILD_TIMEOUT_MS = 120_000;
const MIB = 1024 * 1024;
/** The histogram records each interval between its samples, so the delay is what exceeds this. */
const ELD_RESOLUTION_MS = 10;
const progress = process.env.BENCH_PROGRESS ? (message) => console.error(`[export] ${message}`) : () => {};

export function parseArgs(argv) {
  const has = (name) => argv.includes(name);
  const value = (name) => (has(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const number = (name, fallback, { zero = false } = {}) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero)) throw new Error(`${name} must be a ${zero ? 'non-negative' : 'positive'} number, not ${JSON.stringify(v)}`);
    return n;
  };
  const mode = (name, fallback) => {
    const v = value(name) ?? fallback;
    if (v !== 'decode' && v !== 'count') throw new Error(`${name} must be decode or count, not ${JSON.stringify(v)}`);
    return v;
  };
  const quick = has('--quick');
  const ratesArg = value('--rates');
  const rates = ratesArg === undefined ? [50_000, 200_000] : ratesArg.split(',').map((r) => {
    const n = Number(r);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--rates must be positive numbers separated by commas, not ${JSON.stringify(ratesArg)}`);
    return n;
  });
  return {
    quick,
    json: has('--json'),
    rates,
    runs: number('--runs', quick ? 1 : 3),
    warmupMs: number('--warmup-ms', quick ? 200 : 500),
    windowMs: number('--window-ms', quick ? 1000 : 3000),
    ramp: has('--ramp') || (!quick && !has('--no-ramp')),
    rampFrom: number('--ramp-from', 25_000),
    rampMax: number('--ramp-max', 12_800_000),
    bisections: number('--bisections', 2, { zero: true }),
    receiver: mode('--receiver', 'decode'),
    rampReceiver: mode('--ramp-receiver', 'count'),
    otlpOptions: otlpOptions(value('--otlp-options')),
    cpuProf: value('--cpu-prof'),
  };
}

/** `--otlp-options '{"maxQueueSize":8192}'`: options for ringtrace's otlp sink over its defaults, for diagnosis. */
function otlpOptions(json) {
  if (json === undefined) return {};
  let parsed;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`--otlp-options must be a JSON object, not ${JSON.stringify(json)}`);
  return parsed;
}

// ---------------------------------------------------------------- the child

/** The candidate's tracer and how it ends: `finish()` resolves with its own counts once everything is sent. */
async function setUp(candidate, endpoint, otlpOptions) {
  const { context, trace } = await import('@opentelemetry/api');
  if (candidate === 'baseline') return { tracer: trace.getTracer('bench'), finish: async () => ({}) };
  if (candidate === 'sdk') {
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { BatchSpanProcessor, TracerProvider } = await import('@opentelemetry/sdk-trace');
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const official = new OTLPTraceExporter({ url: endpoint });
    // Counts in front of the official exporter, to tell spans the processor's
    // queue dropped (never handed over) from exports that failed.
    const counts = { handed: 0, succeeded: 0, failed: 0, lastError: null };
    const exporter = {
      export(spans, done) {
        counts.handed += spans.length;
        official.export(spans, (result) => {
          if (result.code === 0) counts.succeeded += spans.length;
          else {
            counts.failed += spans.length;
            counts.lastError = String(result.error);
          }
          done(result);
        });
      },
      forceFlush: () => official.forceFlush(),
      shutdown: () => official.shutdown(),
    };
    const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
    trace.setGlobalTracerProvider(provider);
    return {
      tracer: trace.getTracer('bench'),
      finish: async () => {
        await provider.shutdown();
        return { exporter: counts };
      },
    };
  }
  if (candidate === 'ringtrace') {
    const { TraceDispatcher } = await import('ringtrace');
    const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'otlp', sink: 'otlp', options: { ...otlpOptions, endpoint } }] });
    dispatcher.install();
    return {
      tracer: trace.getTracer('bench'),
      finish: async () => {
        await dispatcher.flush();
        const sink = await dispatcher.inspectSink('otlp');
        const stats = await dispatcher.shutdown();
        return {
          ring: { offered: stats.offered, written: stats.written, dropped: stats.dropped, oversize: stats.oversize },
          sink: { ...sink.spans, lastError: sink.spans.lastError ?? null },
        };
      },
    };
  }
  throw new Error(`--child must be sdk, ringtrace or baseline, not ${JSON.stringify(candidate)}`);
}

function snapshot(produced, ticks) {
  const cpu = process.cpuUsage();
  return { t: performance.now(), main: threadCpuNs(), process: (cpu.user + cpu.system) * 1000, produced, ticks };
}

/**
 * Produce `rate` spans/s from 1 ms ticks for warmupMs + windowMs; resolves
 * with the window's snapshots, RSS peak and event-loop delay.
 */
function paced(loop, rate, warmupMs, windowMs) {
  return new Promise((resolve) => {
    const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    const first = snapshot(0, 0);
    const start = first.t;
    let produced = 0;
    let ticks = 0;
    let from;
    let rssPeak = 0;
    const timer = setInterval(() => {
      ticks++;
      const now = performance.now() - start;
      if (from === undefined && now >= warmupMs) {
        from = snapshot(produced, ticks);
        eld.enable();
      }
      if (from !== undefined && now >= warmupMs + windowMs) {
        const to = snapshot(produced, ticks);
        eld.disable();
        clearInterval(timer);
        resolve({ first, from, to, produced, rssPeak, eldP99Ms: eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS, eldMaxMs: eld.max / 1e6 - ELD_RESOLUTION_MS });
        return;
      }
      const due = Math.floor((rate * now) / 1000) - produced;
      if (due > 0) {
        loop(due);
        produced += due;
      }
      if (from !== undefined) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 1);
  });
}

async function runChild(candidate, rate, warmupMs, windowMs, endpoint, otlpOptions) {
  const { tracer, finish } = await setUp(candidate, endpoint, otlpOptions);
  const p = await paced(spansLoop(tracer), rate, warmupMs, windowMs);
  const finishStart = performance.now();
  const own = await finish();
  const end = snapshot(p.produced, p.to.ticks);
  const windowSpans = p.to.produced - p.from.produced;
  const windowS = (p.to.t - p.from.t) / 1000;
  return {
    candidate,
    rate,
    produced: p.produced,
    windowSpans,
    windowS,
    achieved: windowSpans / windowS,
    windowTicks: p.to.ticks - p.from.ticks,
    ticks: p.to.ticks,
    mainCpuNs: p.to.main - p.from.main,
    processCpuNs: p.to.process - p.from.process,
    // From the window's end to everything sent: what was still queued when production stopped.
    finishMs: end.t - finishStart,
    finishProcessCpuNs: end.process - p.to.process,
    // From the first tick to everything sent, over every span produced.
    pacedS: (p.to.t - p.first.t) / 1000,
    totalProcessCpuNs: end.process - p.first.process,
    rssPeak: p.rssPeak,
    eldP99Ms: p.eldP99Ms,
    eldMaxMs: p.eldMaxMs,
    ...own,
  };
}

// ---------------------------------------------------------------- the parent

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer in ${CHILD_TIMEOUT_MS} ms`)), CHILD_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The next IPC message of `type` from `child`, or a rejection if it exits first. */
function message(child, type, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.type !== type) return;
        cleanup();
        resolve(m);
      };
      const onExit = (code, signal) => {
        cleanup();
        reject(new Error(`${what} exited (code ${code}, signal ${signal}) before sending ${type}`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    }),
    what,
  );
}

async function startReceiver(mode) {
  const receiver = fork(RECEIVER, ['--mode', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await message(receiver, 'listening', 'the receiver');
  return { receiver, endpoint: `http://127.0.0.1:${port}/v1/traces` };
}

/** One candidate alone in its own process at `rate`; with a receiver of `mode` unless it is the baseline. */
async function runOne(candidate, rate, { warmupMs, windowMs, otlpOptions, cpuProf }, mode) {
  progress(`${candidate} at ${rate} spans/s`);
  const recv = candidate === 'baseline' ? undefined : await startReceiver(mode);
  try {
    const endpoint = recv?.endpoint ?? 'http://127.0.0.1:9/v1/traces';
    // OTEL_* variables of the caller's shell would change either candidate's defaults.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
    const child = fork(SELF, ['--child', candidate, '--rate', String(rate), '--warmup-ms', String(warmupMs), '--window-ms', String(windowMs), '--endpoint', endpoint, '--otlp-options', JSON.stringify(otlpOptions)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: cpuProf === undefined || candidate === 'baseline' ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProf],
    });
    const result = await message(child, 'result', `the ${candidate} child`);
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`the ${candidate} child exited with code ${code}`);
    if (recv === undefined) return result;
    recv.receiver.send({ type: 'count' });
    const count = await message(recv.receiver, 'count', 'the receiver');
    return {
      ...result,
      receiver: { mode, spans: count.spans, requests: count.requests, bytes: count.bytes, badSpans: count.badSpans, errors: count.errors, lastError: count.lastError ?? null, cpuMs: count.cpuMs },
      delivered: count.spans / result.produced,
    };
  } finally {
    if (recv !== undefined) {
      recv.receiver.kill();
      await once(recv.receiver, 'exit').catch(() => {});
    }
  }
}

/**
 * Per-span figures of a candidate's run, the baseline's subtracted. The
 * baseline's cost is almost all per tick (the timer, the clock, the RSS
 * sample), and a busy or loaded process gets fewer ticks than the baseline
 * in the same time (a late tick catches up), so the baseline is scaled by
 * the candidate's ticks, not its seconds.
 */
function net(run, baseline) {
  const scale = run.windowTicks / baseline.windowTicks;
  return {
    mainNsPerSpan: (run.mainCpuNs - baseline.mainCpuNs * scale) / run.windowSpans,
    processNsPerSpan: (run.processCpuNs - baseline.processCpuNs * scale) / run.windowSpans,
    processWithDrainNsPerSpan: (run.totalProcessCpuNs - baseline.totalProcessCpuNs * (run.ticks / baseline.ticks)) / run.produced,
  };
}

async function runRates(opts) {
  const out = [];
  const order = ['baseline', ...CANDIDATES];
  for (const rate of opts.rates) {
    for (let r = 0; r < opts.runs; r++) {
      const rotated = order.map((_, i) => order[(i + r) % order.length]);
      const results = {};
      for (const candidate of rotated) results[candidate] = await runOne(candidate, rate, opts, opts.receiver);
      for (const candidate of CANDIDATES) Object.assign(results[candidate], net(results[candidate], results.baseline));
      out.push({ rate, run: r + 1, order: rotated, results });
    }
  }
  return out;
}

const keptUp = (run) => run.delivered >= RAMP_DELIVERED && run.achieved >= RAMP_ACHIEVED * run.rate;

async function ramp(candidate, opts) {
  const steps = [];
  const step = async (rate) => {
    const run = await runOne(candidate, rate, opts, opts.rampReceiver);
    const s = { rate, achieved: run.achieved, delivered: run.delivered, rssPeak: run.rssPeak, eldP99Ms: run.eldP99Ms, ok: keptUp(run) };
    steps.push(s);
    return s.ok;
  };
  let good;
  let bad;
  // Upward from rampFrom while it keeps up; downward if the first step does not.
  if (await step(opts.rampFrom)) {
    good = opts.rampFrom;
    for (let rate = opts.rampFrom * 2; rate <= opts.rampMax; rate *= 2) {
      if (await step(rate)) good = rate;
      else {
        bad = rate;
        break;
      }
    }
  } else {
    bad = opts.rampFrom;
    for (let rate = Math.round(opts.rampFrom / 2); rate >= opts.rampFrom / 16; rate = Math.round(rate / 2)) {
      if (await step(rate)) {
        good = rate;
        break;
      }
      bad = rate;
    }
  }
  if (good !== undefined && bad !== undefined) {
    for (let i = 0; i < opts.bisections; i++) {
      const mid = Math.round((good + bad) / 2 / 1000) * 1000;
      if (mid <= good || mid >= bad) break;
      if (await step(mid)) good = mid;
      else bad = mid;
    }
  }
  return { steps, highest: good ?? null, firstFailing: bad ?? null, cappedAt: bad === undefined ? opts.rampMax : null };
}

export async function runExport(opts) {
  const runs = await runRates(opts);
  const ramps = {};
  if (opts.ramp) for (const candidate of CANDIDATES) ramps[candidate] = await ramp(candidate, opts);
  return { options: opts, runs, ramps: opts.ramp ? ramps : null };
}

// ---------------------------------------------------------------- the report

const range = (values, digits, unit = '') => {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi || fmt(lo, digits) === fmt(hi, digits) ? `${fmt(lo, digits)}${unit}` : `${fmt(lo, digits)}–${fmt(hi, digits)}${unit}`;
};

/** Figures per rate and candidate (min–max over the runs) and the SDK / ringtrace ratios run by run. */
export function summarize(runs) {
  const rates = [...new Set(runs.map((r) => r.rate))];
  return rates.map((rate) => {
    const these = runs.filter((r) => r.rate === rate);
    const of = (candidate, key) => these.map((r) => r.results[candidate][key]);
    const ratio = (key) => these.map((r) => r.results.sdk[key] / r.results.ringtrace[key]);
    return {
      rate,
      runs: these.length,
      candidates: Object.fromEntries(
        [...CANDIDATES, 'baseline'].map((c) => [
          c,
          {
            mainNsPerSpan: of(c, 'mainNsPerSpan'),
            processNsPerSpan: of(c, 'processNsPerSpan'),
            processWithDrainNsPerSpan: of(c, 'processWithDrainNsPerSpan'),
            delivered: of(c, 'delivered'),
            achieved: of(c, 'achieved'),
            rssPeakMiB: of(c, 'rssPeak').map((b) => b / MIB),
            eldP99Ms: of(c, 'eldP99Ms'),
            finishMs: of(c, 'finishMs'),
          },
        ]),
      ),
      ratios: {
        mainCpu: ratio('mainNsPerSpan'),
        processCpu: ratio('processNsPerSpan'),
        processCpuWithDrain: ratio('processWithDrainNsPerSpan'),
        delivered: ratio('delivered'),
        rss: ratio('rssPeak'),
      },
    };
  });
}

export function exportReport({ options, runs, ramps }) {
  const summary = summarize(runs);
  const rows = [];
  for (const s of summary) {
    for (const c of [...CANDIDATES, 'baseline']) {
      const x = s.candidates[c];
      const isBase = c === 'baseline';
      rows.push([
        `${s.rate.toLocaleString('en-US')}/s`,
        LABEL[c],
        isBase ? '—' : range(x.mainNsPerSpan, 0),
        isBase ? '—' : range(x.processNsPerSpan, 0),
        isBase ? '—' : range(x.processWithDrainNsPerSpan, 0),
        isBase ? '—' : range(x.delivered.map((d) => d * 100), 2, ' %'),
        range(x.rssPeakMiB, 0),
        range(x.eldP99Ms, 1),
        range(x.achieved, 0),
        isBase ? '—' : range(x.finishMs, 0),
      ]);
    }
    rows.push([
      '',
      'SDK / ringtrace',
      range(s.ratios.mainCpu, 2, 'x'),
      range(s.ratios.processCpu, 2, 'x'),
      range(s.ratios.processCpuWithDrain, 2, 'x'),
      range(s.ratios.delivered, 3, 'x'),
      range(s.ratios.rss, 2, 'x'),
      '',
      '',
      '',
    ]);
  }
  const lines = [
    `each candidate alone in its own process; ${options.runs} run(s) per rate, order rotating; ${options.warmupMs} ms warm-up, ${options.windowMs} ms window; receiver: ${options.receiver}`,
    ...(Object.keys(options.otlpOptions ?? {}).length > 0 ? [`ringtrace's otlp sink NOT at its defaults: ${JSON.stringify(options.otlpOptions)}`] : []),
    '',
    table(
      ['rate', 'candidate', 'main thread CPU ns/span', 'whole process CPU ns/span', 'whole process with drain', 'delivered', 'RSS peak MiB', 'event-loop delay p99 ms', 'achieved spans/s', 'shutdown ms'],
      rows,
    ),
    '',
    'CPU: minus the baseline process (the same pacing loop, OpenTelemetry API with no provider) of the same run; ratios run by run.',
    'Main thread and whole process: the window, over the spans made in it. With drain: the whole process from the first tick to the end of shutdown, over every span made.',
  ];
  for (const r of runs) {
    for (const c of CANDIDATES) {
      const x = r.results[c];
      if (x.receiver.errors > 0 || x.receiver.badSpans > 0) lines.push(`run ${r.run} at ${r.rate}/s, ${LABEL[c]}: receiver errors ${x.receiver.errors}, bad spans ${x.receiver.badSpans} (${x.receiver.lastError})`);
    }
  }
  const recv = (c, f) => range(runs.map((r) => f(r.results[c].receiver)), 0);
  lines.push(
    `receiver (${options.receiver}): CPU ns per span received: SDK ${recv('sdk', (x) => (x.cpuMs * 1e6) / x.spans)}, ringtrace ${recv('ringtrace', (x) => (x.cpuMs * 1e6) / x.spans)}; ` +
      `body bytes per span: SDK ${recv('sdk', (x) => x.bytes / x.spans)}, ringtrace ${recv('ringtrace', (x) => x.bytes / x.spans)}; ` +
      `spans per request: SDK ${recv('sdk', (x) => x.spans / x.requests)}, ringtrace ${recv('ringtrace', (x) => x.spans / x.requests)}`,
  );
  const sdk = runs.map((r) => r.results.sdk);
  lines.push(
    `SDK, every run: dropped by the BatchSpanProcessor queue ${sdk.map((x) => x.produced - x.exporter.handed).join(', ')}; export failed ${sdk.map((x) => x.exporter.failed).join(', ')}` +
      (sdk.some((x) => x.exporter.lastError !== null) ? ` (${sdk.find((x) => x.exporter.lastError !== null).exporter.lastError})` : ''),
  );
  const ring = runs.map((r) => r.results.ringtrace);
  lines.push(
    `ringtrace, every run: ring drops ${ring.map((x) => x.ring.dropped + x.ring.oversize).join(', ')}; sink dropped ${ring.map((x) => x.sink.dropped).join(', ')}, failed ${ring.map((x) => x.sink.failed).join(', ')}; peak queue ${ring.map((x) => fmt(x.sink.peakQueueBytes / MIB, 1)).join(', ')} MiB`,
  );
  if (ramps !== null) {
    lines.push('', `ramp (receiver: ${options.rampReceiver}; kept up = ≥ ${RAMP_DELIVERED * 100} % delivered and ≥ ${RAMP_ACHIEVED * 100} % of the rate produced)`, '');
    const stepRows = [];
    for (const c of CANDIDATES) {
      for (const s of ramps[c].steps) {
        stepRows.push([LABEL[c], s.rate.toLocaleString('en-US'), fmt(s.achieved, 0), `${fmt(s.delivered * 100, 2)} %`, fmt(s.rssPeak / MIB, 0), fmt(s.eldP99Ms, 1), s.ok ? 'yes' : 'no']);
      }
    }
    lines.push(table(['candidate', 'rate spans/s', 'achieved', 'delivered', 'RSS MiB', 'ELD p99 ms', 'kept up'], stepRows), '');
    const highest = (c) => {
      const h = ramps[c];
      if (h.highest === null) return `none (failed down to ${h.firstFailing.toLocaleString('en-US')}/s)`;
      return `${h.highest.toLocaleString('en-US')}/s${h.cappedAt !== null ? ` (the ramp's cap, --ramp-max ${h.cappedAt})` : ''}`;
    };
    lines.push(`highest rate with ≥ 99.9 % delivered: SDK ${highest('sdk')}, ringtrace ${highest('ringtrace')}`);
    if (ramps.sdk.highest !== null && ramps.ringtrace.highest !== null) lines.push(`ringtrace / SDK = ${fmt(ramps.ringtrace.highest / ramps.sdk.highest, 2)}x`);
  }
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (argv.includes('--child')) {
    const at = (name) => argv[argv.indexOf(name) + 1];
    const result = await runChild(at('--child'), Number(at('--rate')), Number(at('--warmup-ms')), Number(at('--window-ms')), at('--endpoint'), JSON.parse(at('--otlp-options')));
    // Exit once the result is out: neither candidate's leftover timers may hold the process.
    process.send({ type: 'result', ...result }, () => process.exit(0));
  } else {
    const opts = parseArgs(argv);
    const m = machine();
    const out = await runExport(opts);
    if (opts.json) console.log(JSON.stringify({ machine: m, ...out, summary: summarize(out.runs) }));
    else console.log(`${JSON.stringify(m)}\n\n${exportReport(out)}`);
  }
}
