/**
 * Several producing threads, one dispatcher worker: 1, 2 and 4 worker
 * threads, each `TraceDispatcher.attach()`ed (its own ring, the default
 * DEFAULT_ATTACHED_QUEUE_CAPACITY), writing the span of spans.js (two
 * attributes at start, one setAttribute, end) through its tracer provider,
 *
 *   full    flat out, in blocks of 1,000 spans, for SECONDS;
 *   paced   PACED_RATE spans/s per thread, from 1 ms ticks (each tick writes
 *           what the rate owes since the start), for SECONDS;
 *
 * the main thread only hosting the dispatcher (one counting sink). The
 * threads start together (a shared-memory gate). Each configuration runs in
 * a process of its own, one after the other. Per configuration:
 *
 *   producer ns/span   each producer's on-CPU time over its spans
 *                      (/proc/thread-self/schedstat, read around the whole
 *                      timed part), the median of the threads; paced, also
 *                      less the ticks' own cost (the same number of 1 ms
 *                      ticks writing nothing, timed after), and the ratio
 *                      of that to the one-thread figure of the same mode;
 *   drain rec/s        records the counting sink received, over the wall
 *                      time from the gate's opening to the moment every
 *                      producer's flush() had resolved: what the one
 *                      dispatcher worker delivered;
 *   delivery           records delivered / records offered, and the drops
 *                      (every producer's ring, counted by its writer);
 *   rest ns/rec        the process's CPU time outside the producers (the
 *                      dispatcher worker, the main thread, V8's helper
 *                      threads) over the records delivered.
 *
 *   node bench/threads.js [--seconds S] [--json]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { TraceDispatcher } from 'ringtrace';
import { fmt, isMain, machine, median, table, threadCpuNs } from './measure.js';
import { SPANS_LOOP, START_OPTIONS } from './spans.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));
const THREADS = [1, 2, 4];
const MODES = ['full', 'paced'];
/** Spans per second per thread in the paced mode. */
export const PACED_RATE = 20_000;
const BLOCK = 1_000;

/** A producer thread: attach, wait at the gate, write for `seconds`, flush, report. */
async function produce({ mode, seconds, gate }) {
  const attached = await TraceDispatcher.attach();
  const loop = new Function('tracer', 'options', SPANS_LOOP)(attached.tracerProvider.getTracer('bench'), START_OPTIONS);
  loop(BLOCK); // compiled before the timed part
  await attached.flush();
  const cells = new Int32Array(gate);
  Atomics.add(cells, 1, 1);
  Atomics.notify(cells, 1);
  Atomics.wait(cells, 0, 0);
  const before = attached.producerStats();
  const c0 = threadCpuNs();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let spans = 0;
  let ticks = 0;
  if (mode === 'full') {
    while (process.hrtime.bigint() < end) {
      loop(BLOCK);
      spans += BLOCK;
    }
  } else {
    for (let now = t0; now < end; now = process.hrtime.bigint()) {
      const owed = Math.floor((Number(now - t0) / 1e9) * PACED_RATE) - spans;
      if (owed > 0) {
        loop(owed);
        spans += owed;
      }
      ticks++;
      await sleep(1);
    }
  }
  const cpuNs = threadCpuNs() - c0;
  const wallNs = Number(process.hrtime.bigint() - t0);
  // The same ticks writing nothing, after the timed part: what the 1 ms ticks cost this thread alone.
  let tickNs = 0;
  if (mode === 'paced') {
    const i0 = threadCpuNs();
    for (let i = 0; i < ticks; i++) await sleep(1);
    tickNs = (threadCpuNs() - i0) / ticks;
  }
  await attached.flush();
  const after = attached.producerStats();
  parentPort.postMessage({
    spans,
    cpuNs,
    wallNs,
    ticks,
    tickNs,
    offered: after.offered - before.offered,
    written: after.written - before.written,
    dropped: after.dropped - before.dropped,
  });
}

/** One configuration in this process: `threads` producers in `mode`. */
async function runConfiguration(threads, mode, seconds) {
  const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'off,bench=info' }] });
  const gate = new SharedArrayBuffer(8);
  const cells = new Int32Array(gate);
  const workers = Array.from({ length: threads }, () => new Worker(fileURLToPath(import.meta.url), { workerData: { mode, seconds, gate } }));
  const results = workers.map((w) => once(w, 'message').then(([m]) => m));
  // Listened for now: a worker may be gone by the time its results are read.
  const exits = workers.map((w) => once(w, 'exit'));
  for (let ready = Atomics.load(cells, 1); ready < threads; ready = Atomics.load(cells, 1)) await sleep(5);
  const { count: warm } = await dispatcher.inspectSink('count');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  Atomics.store(cells, 0, 1);
  Atomics.notify(cells, 0);
  const producers = await Promise.all(results);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  const { count } = await dispatcher.inspectSink('count');
  await Promise.all(exits);
  const stats = await dispatcher.shutdown();
  const delivered = count - warm;
  const offered = producers.reduce((s, p) => s + p.offered, 0);
  const producerCpuNs = producers.reduce((s, p) => s + p.cpuNs, 0);
  return {
    threads,
    mode,
    seconds,
    producers: producers.map((p) => ({ ...p, nsPerSpan: p.cpuNs / p.spans, netNsPerSpan: (p.cpuNs - p.ticks * p.tickNs) / p.spans, spansPerSecond: p.spans / (p.wallNs / 1e9) })),
    nsPerSpan: median(producers.map((p) => p.cpuNs / p.spans)),
    netNsPerSpan: median(producers.map((p) => (p.cpuNs - p.ticks * p.tickNs) / p.spans)),
    spans: producers.reduce((s, p) => s + p.spans, 0),
    offered,
    dropped: producers.reduce((s, p) => s + p.dropped, 0),
    delivered,
    delivery: delivered / offered,
    drainPerSecond: delivered / (wallNs / 1e9),
    restNsPerRecord: ((cpu.user + cpu.system) * 1e3 - producerCpuNs) / delivered,
    totals: { offered: stats.offered, written: stats.written, dropped: stats.dropped, decoded: stats.decoded },
  };
}

/** Each configuration in its own child process, one after the other. */
export async function runThreads({ seconds = 2 } = {}) {
  const rows = [];
  for (const mode of MODES) {
    for (const threads of THREADS) {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', String(threads), mode, '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
      const [code] = await once(child, 'exit');
      if (code !== 0) throw new Error(`bench child ${threads} ${mode} exited with ${code}`);
      rows.push(JSON.parse(out.trim().split('\n').at(-1)));
    }
  }
  return { machine: machine(), seconds, pacedRate: PACED_RATE, rows };
}

export function threadsReport(out) {
  const base = Object.fromEntries(MODES.map((m) => [m, out.rows.find((r) => r.mode === m && r.threads === 1).netNsPerSpan]));
  const header = [
    `${out.seconds} s per configuration, paced = ${out.pacedRate} spans/s/thread`,
    'producer on-CPU ns/span (median)',
    'less ticks',
    'per thread, less ticks',
    'vs 1 thread',
    'drain rec/s',
    'delivered/offered',
    'dropped',
    'rest ns/rec',
  ];
  const rows = out.rows.map((r) => [
    `${r.mode}, ${r.threads} thread${r.threads > 1 ? 's' : ''}`,
    fmt(r.nsPerSpan),
    r.mode === 'paced' ? fmt(r.netNsPerSpan) : '',
    r.producers.map((p) => fmt(p.netNsPerSpan, 0)).join(' '),
    fmt(r.netNsPerSpan / base[r.mode], 2),
    fmt(r.drainPerSecond, 0),
    `${fmt(r.delivery * 100, 2)}%`,
    String(r.dropped),
    fmt(r.restNsPerRecord, 0),
  ]);
  return table(header, rows);
}

if (!isMainThread && workerData?.gate !== undefined) {
  await produce(workerData);
} else if (isMainThread && process.argv[2] === '--child') {
  const [threads, mode] = [Number(process.argv[3]), process.argv[4]];
  const seconds = process.argv.includes('--seconds') ? Number(process.argv[process.argv.indexOf('--seconds') + 1]) : 2;
  process.stdout.write(JSON.stringify(await runConfiguration(threads, mode, seconds)) + '\n');
} else if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const seconds = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : 2;
  const out = await runThreads({ seconds });
  if (args.includes('--json')) {
    console.log(JSON.stringify(out));
  } else {
    console.log(JSON.stringify(out.machine));
    console.log(threadsReport(out));
    for (const r of out.rows) {
      const t = r.totals;
      console.log(`${r.mode} ${r.threads}: spans ${r.spans}, offered ${r.offered}, dropped ${r.dropped}, delivered ${r.delivered}; dispatcher totals offered ${t.offered} written ${t.written} dropped ${t.dropped} decoded ${t.decoded}`);
    }
  }
}
