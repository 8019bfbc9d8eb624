/**
 * What a dispatcher costs a process that records nothing: an idle service
 * between requests. Each configuration runs alone in its own child process,
 * settles for 1 s, then its threads' CPU time (/proc/self/task/<tid>/schedstat,
 * Linux) is read over a window:
 *
 *   bare        the process alone (the baseline),
 *   no sinks    TraceDispatcher.start() with no sink,
 *   otlp        the otlp sink at its defaults, to a receiver on loopback
 *               (in another process) that answers 200.
 *
 * Reported per configuration: CPU milliseconds per second of the whole
 * process and of its busiest thread other than the main one (the dispatcher
 * worker), each minus the baseline's, median of the runs.
 *
 *   npm run build && node bench/idle.js [--runs N] [--window-ms MS] [--json]
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fmt, isMain, machine, median, pause, table } from './measure.js';

const CONFIGS = ['bare', 'no sinks', 'otlp'];

/** CPU nanoseconds of each of this process's threads. */
function threadTimes() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

async function child(config, endpoint, windowMs) {
  let dispatcher;
  if (config !== 'bare') {
    const { TraceDispatcher } = await import('ringtrace');
    const sinks = config === 'otlp' ? [{ name: 'otlp', sink: 'otlp', options: { endpoint } }] : [];
    dispatcher = await TraceDispatcher.start({ sinks });
  }
  await pause(1000);
  const before = threadTimes();
  const t0 = performance.now();
  await pause(windowMs);
  const seconds = (performance.now() - t0) / 1000;
  const after = threadTimes();
  const main = String(process.pid);
  let whole = 0;
  let busiestOther = 0;
  for (const [tid, ns] of after) {
    const used = ns - (before.get(tid) ?? 0);
    whole += used;
    if (tid !== main) busiestOther = Math.max(busiestOther, used);
  }
  await dispatcher?.shutdown();
  return { wholeMsPerS: whole / 1e6 / seconds, workerMsPerS: busiestOther / 1e6 / seconds };
}

function runChild(config, endpoint, windowMs) {
  return new Promise((resolve, reject) => {
    const c = fork(new URL(import.meta.url), ['--child', config, endpoint, String(windowMs)]);
    c.once('message', resolve);
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${config}: exit ${code}`))));
  });
}

export async function runIdle({ runs = 3, windowMs = 3000 } = {}) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${server.address().port}/v1/traces`;
  const results = Object.fromEntries(CONFIGS.map((c) => [c, []]));
  for (let run = 0; run < runs; run++) {
    for (const config of CONFIGS) results[config].push(await runChild(config, endpoint, windowMs));
  }
  server.close();
  const base = median(results.bare.map((r) => r.wholeMsPerS));
  const baseOther = median(results.bare.map((r) => r.workerMsPerS));
  return CONFIGS.map((config) => ({
    config,
    wholeMsPerS: median(results[config].map((r) => r.wholeMsPerS)) - (config === 'bare' ? 0 : base),
    workerMsPerS: median(results[config].map((r) => r.workerMsPerS)) - (config === 'bare' ? 0 : baseOther),
  }));
}

/** The table of a `--json` run. */
export function idleReport({ runs, windowMs, rows }) {
  return [
    `each configuration alone in its own process; ${runs} run(s), 1 s to settle, then a ${windowMs} ms window; medians`,
    table(
      ['configuration', 'whole process CPU ms/s', 'busiest other thread ms/s'],
      rows.map((r) => {
        const cell = (x) => (r.config === 'bare' ? `${fmt(x, 2)} (baseline)` : fmt(x, 2));
        return [r.config, cell(r.wholeMsPerS), cell(r.workerMsPerS)];
      }),
    ),
    'CPU: over the baseline (the bare process) of the same run; 1 ms/s is 0.1 % of one core.',
  ].join('\n');
}

if (process.argv[2] === '--child') {
  const [, , , config, endpoint, windowMs] = process.argv;
  process.send(await child(config, endpoint, Number(windowMs)));
} else if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const runs = value('--runs', 3);
  const windowMs = value('--window-ms', 3000);
  const rows = await runIdle({ runs, windowMs });
  const out = { machine: machine(), runs, windowMs, rows };
  if (args.includes('--json')) console.log(JSON.stringify(out));
  else {
    console.log(JSON.stringify(out.machine));
    console.log(idleReport(out));
  }
}
