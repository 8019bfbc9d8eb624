// bench/export.js runs end to end on one small rate: each candidate in its
// own process exporting to the receiver process, the JSON it prints has the
// documented shape, both candidates delivered spans, and every count adds up.
// Never asserts speed. It imports the built package (dist/).
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const bench = fileURLToPath(new URL('../bench/export.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
const run = promisify(execFile);

interface RunResult {
  candidate: string;
  rate: number;
  produced: number;
  windowSpans: number;
  windowS: number;
  achieved: number;
  mainCpuNs: number;
  processCpuNs: number;
  rssPeak: number;
  eldP99Ms: number;
  finishMs: number;
  mainNsPerSpan?: number;
  processNsPerSpan?: number;
  processWithDrainNsPerSpan?: number;
  delivered?: number;
  receiver?: { mode: string; spans: number; requests: number; bytes: number; badSpans: number; errors: number; lastError: string | null };
  ring?: { offered: number; written: number; dropped: number; oversize: number };
  exporter?: { handed: number; succeeded: number; failed: number; lastError: string | null };
  sink?: { queued: number; exported: number; rejected: number; failed: number; dropped: number; pending: number; requests: number };
}
interface Output {
  machine: { date: string; loadavg: string };
  options: { quick: boolean; rates: number[]; runs: number };
  runs: { rate: number; run: number; order: string[]; results: Record<string, RunResult> }[];
  ramps: Record<string, { steps: { rate: number; delivered: number; ok: boolean }[]; highest: number | null; firstFailing: number | null }>;
  summary: { rate: number; ratios: Record<string, number[]> }[];
}

t.test('bench/export.js --quick --json', { skip: existsSync(built) ? false : 'dist/ not built (npm install runs the build)' }, async (t) => {
  const args = ['--quick', '--json', '--rates', '5000', '--window-ms', '500', '--ramp', '--ramp-from', '5000', '--ramp-max', '5000', '--bisections', '0'];
  const { stdout } = await run(process.execPath, [bench, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Output;

  t.ok(out.options.quick, 'the options are in the output');
  t.same(out.options.rates, [5000]);
  t.equal(out.runs.length, 1, 'one run of one rate');
  const [only] = out.runs;
  t.same([...only!.order].sort(), ['baseline', 'ringtrace', 'sdk'], 'three processes, each once');

  const base = only!.results['baseline']!;
  t.ok(base.produced > 0 && base.windowSpans > 0, 'the baseline paced its loop');
  for (const name of ['sdk', 'ringtrace']) {
    const r = only!.results[name]!;
    t.equal(r.candidate, name);
    t.ok(r.windowSpans > 0 && r.windowSpans <= r.produced, `${name}: the window is part of what was produced`);
    t.ok(r.windowS > 0 && r.achieved > 0 && r.rssPeak > 0 && r.finishMs >= 0, `${name}: window, rate, RSS and shutdown measured`);
    t.ok(Number.isFinite(r.mainNsPerSpan) && Number.isFinite(r.processNsPerSpan) && Number.isFinite(r.processWithDrainNsPerSpan), `${name}: per-span CPU is a number`);
    t.ok(Number.isFinite(r.eldP99Ms), `${name}: event-loop delay measured`);
    const recv = r.receiver!;
    t.equal(recv.errors, 0, `${name}: every body the receiver got decoded (${recv.lastError})`);
    t.equal(recv.badSpans, 0, `${name}: every span had 16- and 8-byte ids`);
    t.equal(recv.mode, 'decode', 'the paced runs decode with the official schema');
    t.ok(recv.spans > 0, `${name}: spans reached the receiver`);
    t.ok(recv.spans <= r.produced, `${name}: never more received than produced`);
    t.equal(r.delivered, recv.spans / r.produced, `${name}: delivered is received over produced`);
  }

  const ring = only!.results['ringtrace']!;
  const { offered, written, dropped, oversize } = ring.ring!;
  t.equal(offered, written + dropped + oversize, 'ring: offered = written + dropped + oversize');
  const sink = ring.sink!;
  t.equal(sink.pending, 0, 'sink: nothing pending after flush');
  t.equal(sink.queued, sink.exported + sink.rejected + sink.failed + sink.dropped, 'sink: every span taken in is settled once');
  t.equal(sink.exported, ring.receiver!.spans, 'sink: what it counts exported is what the receiver counted');
  if (dropped + oversize === 0) t.equal(sink.queued, ring.produced, 'sink: with no ring drops, every span produced reached it');

  const sdk = only!.results['sdk']!.exporter!;
  t.ok(sdk.handed <= only!.results['sdk']!.produced, 'SDK: never more handed to the exporter than produced');
  t.equal(sdk.handed, sdk.succeeded + sdk.failed, 'SDK: every export settled');
  t.equal(sdk.succeeded, only!.results['sdk']!.receiver!.spans, 'SDK: what its exporter sent is what the receiver counted');

  const [summary] = out.summary;
  t.equal(summary!.rate, 5000);
  for (const key of ['mainCpu', 'processCpu', 'processCpuWithDrain', 'delivered', 'rss']) {
    t.equal(summary!.ratios[key]!.length, 1, `ratio ${key}, one per run`);
    t.ok(Number.isFinite(summary!.ratios[key]![0]), `ratio ${key} is a number`);
  }
  for (const name of ['sdk', 'ringtrace']) {
    const ramp = out.ramps[name]!;
    t.ok(ramp.steps.length >= 1 && ramp.steps[0]!.rate === 5000, `${name}: the ramp starts at --ramp-from`);
    const highest = ramp.highest;
    t.ok(highest === null || ramp.steps.some((s) => s.rate === highest && s.ok), `${name}: the highest rate is a step that kept up`);
  }

  // The text report renders from the same output.
  const saved = `${t.testdir({})}/export.json`;
  writeFileSync(saved, JSON.stringify(out));
  const script = `import { readFileSync } from 'node:fs'; import { exportReport } from ${JSON.stringify(bench)}; console.log(exportReport(JSON.parse(readFileSync(${JSON.stringify(saved)}, 'utf8'))));`;
  const report = (await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 })).stdout;
  t.match(report, /5,000\/s +SDK/, 'a row per candidate');
  t.match(report, /SDK \/ ringtrace/, 'the ratios row');
  t.match(report, /highest rate with ≥ 99\.9 % delivered: SDK .*, ringtrace /, 'the ramp result');
});
