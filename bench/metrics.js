/**
 * Cost of recording a metric on the producing thread, ringtrace against the
 * OpenTelemetry SDK, the same instruments and attributes, each candidate in
 * its own process:
 *
 *   ringtrace   TraceDispatcher.start() (a counting sink), dispatcher.meterProvider
 *   SDK         @opentelemetry/sdk-metrics MeterProvider + PeriodicExportingMetricReader
 *               at its defaults (60 s interval) with an InMemoryMetricExporter
 *
 * Rows, each a whole timed loop (never one call), ns per call, wall and on-CPU:
 *
 *   counter.add(1)                       no attributes
 *   counter.add(1, attrs)                one constant attributes object { cache: 'users' }
 *   histogram.record(v, attrs)           v = (i & 1023) × 10, the SDK's default buckets
 *   counter.add(1, attrs[i % 100])       100 attribute objects, made up front, in turn
 *   counter.add(1, { cache, shard })     a fresh object literal per call (8 values)
 *
 * The parent runs REPS pairs of processes, ringtrace's and the SDK's taking
 * turns, each interleaving the rows over ROUNDS rounds (the order rotates);
 * a row's figure is the median over all rounds of all its processes, and the
 * ratio is SDK / ringtrace. Each ringtrace process also checks exactness: the
 * counts read back from the region equal the calls made.
 *
 * Memory (separate processes, --expose-gc): a counter and a histogram each
 * given S distinct attribute sets (S = 2000, the default cardinality limit,
 * and S = 20000, ten times past it), 10 calls per set; JS heap after a full
 * GC, minus before, and for ringtrace the region's bytes in use.
 *
 *   node bench/metrics.js [--reps N] [--rounds N] [--json]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { fmt, interleave, isMain, machine, median, table } from './measure.js';

const SELF = fileURLToPath(import.meta.url);
const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));
const TARGETS = { counterNoAttrs: 10, counterConstAttrs: 30 };

const ROWS = [
  { key: 'counterNoAttrs', label: 'counter.add(1)' },
  { key: 'counterConstAttrs', label: 'counter.add(1, attrs)' },
  { key: 'histogram', label: 'histogram.record(v, attrs)' },
  { key: 'counterRotating', label: 'counter.add(1, attrs[i % 100])' },
  { key: 'counterFresh', label: 'counter.add(1, { cache, shard })' },
];

async function makeRingtrace() {
  const { TraceDispatcher } = await import('ringtrace');
  const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'count', module: COUNTING_SINK }] });
  return {
    meter: dispatcher.meterProvider.getMeter('bench'),
    async counts() {
      const { MetricRegionReader } = await import('../dist/src/metric-region/region-reader.js');
      return new MetricRegionReader([dispatcher.meterProvider.region]).snapshot();
    },
    region: () => dispatcher.meterProvider.stats(),
    close: () => dispatcher.shutdown(),
  };
}

async function makeSdk() {
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter })] });
  return { meter: provider.getMeter('bench'), close: () => provider.shutdown() };
}

/** One candidate's process: interleaved rows, then the exactness check. */
async function child(candidate, rounds) {
  const c = candidate === 'ringtrace' ? await makeRingtrace() : await makeSdk();
  const meter = c.meter;
  const plain = meter.createCounter('plain');
  const constant = meter.createCounter('constant');
  const hist = meter.createHistogram('hist');
  const rotating = meter.createCounter('rotating');
  const fresh = meter.createCounter('fresh');
  const attrs = { cache: 'users' };
  const many = Array.from({ length: 100 }, (_, i) => ({ cache: 'users', shard: i }));
  const calls = { plain: 0, constant: 0, hist: 0, rotating: 0, fresh: 0 };
  const fast = candidate === 'ringtrace' ? 20 : 1;
  const rows = [
    { name: 'counterNoAttrs', ops: 1_000_000 * fast, loop(n) { for (let i = 0; i < n; i++) plain.add(1); calls.plain += n; } },
    { name: 'counterConstAttrs', ops: 500_000 * fast, loop(n) { for (let i = 0; i < n; i++) constant.add(1, attrs); calls.constant += n; } },
    { name: 'histogram', ops: 500_000 * (fast / 4), loop(n) { for (let i = 0; i < n; i++) hist.record((i & 1023) * 10, attrs); calls.hist += n; } },
    { name: 'counterRotating', ops: 500_000 * (fast / 4), loop(n) { for (let i = 0; i < n; i++) rotating.add(1, many[i % 100]); calls.rotating += n; } },
    { name: 'counterFresh', ops: 300_000, loop(n) { for (let i = 0; i < n; i++) fresh.add(1, { cache: 'users', shard: i & 7 }); calls.fresh += n; } },
  ];
  const result = await interleave(rows, { rounds });
  let exact = null;
  if (candidate === 'ringtrace') {
    const snap = await c.counts();
    const sum = (name) => snap.metrics.find((m) => m.name === name).points.reduce((n, p) => n + (p.count ?? p.value), 0);
    exact = sum('plain') === calls.plain && sum('constant') === calls.constant && sum('hist') === calls.hist && sum('rotating') === calls.rotating && sum('fresh') === calls.fresh;
  }
  await c.close();
  return { candidate, rows: Object.fromEntries(Object.entries(result).map(([k, v]) => [k, { wall: v.rounds, cpu: v.cpuRounds }])), exact, calls };
}

/** Memory for S attribute sets per instrument, after a full GC. */
async function memoryChild(candidate, sets) {
  const c = candidate === 'ringtrace' ? await makeRingtrace() : await makeSdk();
  const counter = c.meter.createCounter('mem.counter');
  const hist = c.meter.createHistogram('mem.hist');
  counter.add(1, { warm: 1 });
  hist.record(1, { warm: 1 });
  globalThis.gc();
  const before = process.memoryUsage();
  for (let rep = 0; rep < 10; rep++) {
    for (let i = 0; i < sets; i++) {
      const a = { route: `/item/${i}`, method: 'GET' };
      counter.add(1, a);
      hist.record(i % 1000, a);
    }
  }
  globalThis.gc();
  const after = process.memoryUsage();
  const region = candidate === 'ringtrace' ? c.region() : null;
  await c.close();
  return {
    candidate,
    sets,
    heapBytes: after.heapUsed - before.heapUsed,
    rssBytes: after.rss - before.rss,
    regionBytes: region === null ? null : region.cellsUsed * 8 + region.descriptorBytes,
    overflowed: region === null ? null : region.overflowed,
  };
}

function runChild(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    p.on('error', reject);
    once(p, 'close').then(([code]) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`child ${args.join(' ')} exited ${code}`))));
  });
}

export async function runMetrics({ reps = 3, rounds = 7 } = {}) {
  const runs = { ringtrace: [], sdk: [] };
  for (let r = 0; r < reps; r++) {
    // Take turns, so drift in the machine's load hits both alike.
    for (const candidate of r % 2 === 0 ? ['ringtrace', 'sdk'] : ['sdk', 'ringtrace']) runs[candidate].push(await runChild(['--child', candidate, String(rounds)]));
  }
  const rows = {};
  for (const { key } of ROWS) {
    const all = (cand, kind) => runs[cand].flatMap((run) => run.rows[key][kind]);
    rows[key] = { ringtrace: { wall: median(all('ringtrace', 'wall')), cpu: median(all('ringtrace', 'cpu')) }, sdk: { wall: median(all('sdk', 'wall')), cpu: median(all('sdk', 'cpu')) } };
  }
  const memory = [];
  for (const sets of [2000, 20000]) for (const candidate of ['ringtrace', 'sdk']) memory.push(await runChild(['--memory', candidate, String(sets)]));
  return { machine: machine(), reps, rounds, rows, exact: runs.ringtrace.every((r) => r.exact === true), memory };
}

export function metricsReport(out) {
  const lines = [];
  lines.push(
    table(
      ['call', 'ringtrace ns', 'SDK ns', 'SDK / ringtrace', 'ringtrace on-CPU', 'SDK on-CPU', 'target'],
      ROWS.map(({ key, label }) => {
        const r = out.rows[key];
        const target = TARGETS[key] === undefined ? '>= 10x' : `<= ${TARGETS[key]} ns, >= 10x`;
        return [label, fmt(r.ringtrace.wall, 2), fmt(r.sdk.wall, 1), `${fmt(r.sdk.wall / r.ringtrace.wall, 1)}x`, fmt(r.ringtrace.cpu, 2), fmt(r.sdk.cpu, 1), key === 'counterRotating' || key === 'counterFresh' ? '(context)' : target];
      }),
    ),
  );
  lines.push('');
  lines.push(`ringtrace counts exact (read back from the region == calls made): ${out.exact ? 'yes' : 'NO'}`);
  lines.push('');
  lines.push(
    table(
      ['memory', 'attribute sets', 'JS heap after GC', 'RSS', 'region in use', 'overflowed'],
      out.memory.map((m) => [m.candidate, m.sets, `${fmt(m.heapBytes / 1024, 0)} KiB`, `${fmt(m.rssBytes / 1024, 0)} KiB`, m.regionBytes === null ? '-' : `${fmt(m.regionBytes / 1024, 0)} KiB`, m.overflowed ?? '-']),
    ),
  );
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    console.log(JSON.stringify(await child(args[1], Number(args[2]))));
  } else if (args[0] === '--memory') {
    console.log(JSON.stringify(await memoryChild(args[1], Number(args[2]))));
  } else {
    const opt = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
    const out = await runMetrics({ reps: opt('--reps', 3), rounds: opt('--rounds', 7) });
    if (args.includes('--json')) console.log(JSON.stringify(out));
    else {
      const m = out.machine;
      console.log(`bench/metrics.js — ${m.date}; node ${m.node}, ${m.cpus} CPUs (${m.cpu}), load average ${m.loadavg}\n`);
      console.log(metricsReport(out));
    }
  }
}
