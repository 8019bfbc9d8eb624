/**
 * Every benchmark in one run (`npm run bench`, after `npm run build`): each
 * script runs in its own child process, one after the other, so a worker or
 * a JIT state left by one cannot skew the next; the producer-cost candidates
 * of events.js share one process on purpose, interleaved, so their ratios are
 * side by side.
 *
 *   node bench/run-all.js [--only events,drain,delivery,spans,export,idle]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventsReport } from './events.js';
import { drainReport } from './drain.js';
import { deliveryReport } from './delivery.js';
import { machine } from './measure.js';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const BENCHES = [
  { name: 'events', script: 'events.js', report: eventsReport },
  { name: 'drain', script: 'drain.js', report: drainReport },
  { name: 'delivery', script: 'delivery.js', report: deliveryReport },
  { name: 'spans', script: 'spans.js', report: async (out) => (await import('./spans.js')).spansReport(out) },
  { name: 'export', script: 'export.js', report: async (out) => (await import('./export.js')).exportReport(out) },
  { name: 'idle', script: 'idle.js', report: async (out) => (await import('./idle.js')).idleReport(out) },
];

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

const m = machine();
console.log(`ringtrace benchmarks — ${m.date}`);
console.log(`node ${m.node}, ${m.cpus} CPUs (${m.cpu}), load average at start: ${m.loadavg}`);
console.log(`command: npm run bench  (node bench/run-all.js${args.length ? ' ' + args.join(' ') : ''})\n`);

for (const b of BENCHES) {
  if (only !== null && !only.includes(b.name)) continue;
  const stdout = execFileSync(process.execPath, [here(b.script), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const out = JSON.parse(stdout.trim().split('\n').at(-1));
  console.log(`## ${b.name}  (load average ${out.machine.loadavg})\n`);
  console.log(await b.report(out));
  console.log('');
}
