/**
 * Shared measuring helpers for the benchmarks: time a whole loop (never one
 * operation), run candidates in interleaved rounds so a burst of load from
 * another process hits all of them alike, and report medians with spread.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execSync } from 'node:child_process';

/** Median of a list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Relative spread of the rounds: (max - min) / median. */
export function spread(values) {
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

/**
 * On-CPU time of the calling thread in ns (Linux /proc/thread-self/schedstat),
 * or NaN where it is not available. Unlike wall time it does not grow while
 * the thread waits for a core, so it stays meaningful on a loaded machine.
 * The kernel updates it at scheduler ticks and context switches, so it is
 * only trusted around loops of tens of milliseconds (every benchmark loop here).
 */
export function threadCpuNs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/** Wall and on-CPU nanoseconds per operation for `loop(n)`, timed as one block. */
export async function nsPerOp(loop, n) {
  const c0 = threadCpuNs();
  const t0 = process.hrtime.bigint();
  await loop(n);
  const t1 = process.hrtime.bigint();
  const c1 = threadCpuNs();
  return { wall: Number(t1 - t0) / n, cpu: (c1 - c0) / n };
}

/**
 * Run each candidate `warmups` times untimed, then `rounds` times timed, the
 * candidates interleaved within each round (the order rotates every round).
 * A candidate is `{ name, ops, loop(n), between?() }`: `between` runs after
 * each of its loops, untimed (for instance to let a worker drain).
 * Returns `{ [name]: { median, min, max, spread, rounds, cpuMedian, cpuRounds,
 * cpuWithDeferredMedian } }` in ns/op: wall time of the loop, the producing
 * thread's on-CPU time in the loop, and that plus its on-CPU time in `between`.
 */
export async function interleave(candidates, { rounds = 7, warmups = 2 } = {}) {
  const results = Object.fromEntries(candidates.map((c) => [c.name, []]));
  const cpu = Object.fromEntries(candidates.map((c) => [c.name, []]));
  const cpuWithDeferred = Object.fromEntries(candidates.map((c) => [c.name, []]));
  for (let r = -warmups; r < rounds; r++) {
    const order = candidates.map((_, i) => candidates[(i + Math.max(r, 0)) % candidates.length]);
    for (const c of order) {
      const ns = await nsPerOp(c.loop, c.ops);
      // Work a candidate deferred past its loop (pino.transport's buffered
      // writes) runs in `between`: count this thread's CPU for it separately.
      const c0 = threadCpuNs();
      if (c.between) await c.between();
      const deferred = (threadCpuNs() - c0) / c.ops;
      if (r >= 0) {
        results[c.name].push(ns.wall);
        cpu[c.name].push(ns.cpu);
        cpuWithDeferred[c.name].push(ns.cpu + deferred);
      }
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([name, values]) => [
      name,
      {
        median: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        spread: spread(values),
        rounds: values,
        cpuMedian: median(cpu[name]),
        cpuRounds: cpu[name],
        cpuWithDeferredMedian: median(cpuWithDeferred[name]),
      },
    ]),
  );
}

/** The machine, for the report. */
export function machine() {
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? cpus()[0]?.model ?? 'unknown';
  let date;
  try {
    date = execSync('date', { encoding: 'utf8' }).trim();
  } catch {
    date = new Date().toString();
  }
  return { date, node: process.version, cpus: cpus().length, cpu, loadavg: loadavg().map((x) => x.toFixed(2)).join(' ') };
}

/** Print rows as an aligned text table. */
export function table(header, rows) {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Format a number with `digits` decimals. */
export function fmt(x, digits = 1) {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** True when the module at `url` is the process's entry script. */
export function isMain(url) {
  return process.argv[1] !== undefined && new URL(url).pathname === process.argv[1];
}

/** Let pending callbacks, I/O and other threads' messages run. */
export function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
