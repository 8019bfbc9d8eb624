/**
 * Attached threads under load and at their end: a thread flooding its small
 * ring cannot cost another thread a record; terminate() and process.exit()
 * inside a worker lose nothing written before; 1,000 short-lived attached
 * threads leave the ring count and memory where they started.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { TraceDispatcher, type DispatcherStats, type EventRecord, type MemorySinkContents, type SpanEndRecord } from '../src/index.js';
import type { AttachedThreadData } from './fixtures/attached-thread.js';
import { compileForChildren } from './fixtures/compiled-build.js';

const FIXTURE = new URL('./fixtures/attached-thread.ts', import.meta.url);
const SHORT_LIVED = new URL('./fixtures/short-lived-thread.mjs', import.meta.url);

interface Report {
  label: string;
  recorded?: boolean;
  started?: boolean;
  threadId?: number;
}

function start(data: AttachedThreadData): { worker: Worker; reports: Report[]; exited: Promise<number>; next: () => Promise<Report> } {
  const worker = new Worker(FIXTURE, { workerData: data, name: data.label });
  const reports: Report[] = [];
  const waiting: ((r: Report) => void)[] = [];
  worker.on('message', (m: Report) => {
    reports.push(m);
    waiting.shift()?.(m);
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  let taken = 0;
  const next = (): Promise<Report> => (taken < reports.length ? Promise.resolve(reports[taken++]!) : new Promise((resolve) => waiting.push((r) => (taken++, resolve(r)))));
  return { worker, reports, exited, next };
}

/** Poll until `check` holds; generous: the machine may be loaded. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function identities(t: Test, stats: DispatcherStats): void {
  t.equal(stats.offered, stats.written + stats.dropped + stats.oversize, 'total: offered == written + dropped + oversize');
  t.equal(stats.decoded + stats.corrupt, stats.written, 'total: decoded + corrupt == written');
  for (const th of stats.threads) {
    t.equal(th.offered, th.written + th.dropped + th.oversize, `${th.threadName}: offered == written + dropped + oversize`);
    t.equal(th.decoded + th.corrupt, th.written, `${th.threadName}: decoded + corrupt == written`);
  }
}

const seqs = (records: readonly unknown[], target: string, message: string): number[] =>
  (records as EventRecord[]).filter((r) => r.kind === 'event' && r.target === target && r.message === message).map((r) => r.fields['seq'] as number);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

t.test('a thread flooding its small ring: its drops are its own; every record of a modest thread arrives', async (t) => {
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'modest', sink: 'memory', filter: 'off,tM=trace' },
      { name: 'flood', sink: 'memory', filter: 'off,tF=trace', options: { limit: 1000 } },
    ],
  });
  t.teardown(() => d.shutdown());
  const flood = start({ label: 'F', queueCapacity: 64 * 1024, floodMs: 1500, end: 'hang' });
  const modest = start({ label: 'M', count: 200, paceMs: 2, flush: true });
  await modest.exited;
  const floodReport = await flood.next();
  t.ok(floodReport.recorded, 'the flood is over');
  await until(() => d.attachedThreads === 1, 'the modest thread to be drained and dropped');
  // The flood's ring is drained by now or soon: wait for it, then read its counts while it is still attached.
  await until(async () => (await d.stats()).threads.find((x) => x.threadName === 'F')!.queueBytes === 0, 'the flood ring to drain');
  const stats = await d.stats();
  const f = stats.threads.find((x) => x.threadName === 'F')!;
  t.ok(f.dropped > 0, `the flooding thread dropped records (${f.dropped}) and they are counted in its own stats`);
  t.equal(stats.threads.find((x) => x.threadName === 'main')!.dropped, 0, 'the main thread dropped nothing');
  identities(t, stats);
  await flood.worker.terminate();
  await until(() => d.attachedThreads === 0, 'the flood ring to be dropped');
  await d.flush();
  const mem = await d.inspectSink<MemorySinkContents>('modest');
  t.same(seqs(mem.records, 'tM', 'event'), range(200), 'every event of the modest thread, in order');
  t.equal(mem.records.filter((r): r is SpanEndRecord => r.kind === 'spanEnd').length, 200, 'every span of the modest thread');
  const after = await d.stats();
  t.equal(after.dropped, f.dropped, 'the drops are the flooding thread\'s, nobody else\'s');
  identities(t, after);
});

t.test('terminate() mid-recording and process.exit() inside a worker: what was written is delivered, identities hold', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const killed = start({ label: 'K', count: 100, reportEarly: true, tickMs: 1, end: 'hang' });
  const exiting = start({ label: 'X', count: 100, end: 'exit' });
  t.ok((await killed.next()).started, 'K recorded its first records');
  // Let it tick for a while, then terminate it in the middle of its recording.
  await sleep(100);
  await killed.worker.terminate();
  t.equal(await exiting.exited, 0, 'X ended through process.exit(0)');
  await until(() => d.attachedThreads === 0, 'both rings to be drained and dropped');
  await d.flush();
  const mem = await d.inspectSink<MemorySinkContents>('mem');
  t.same(seqs(mem.records, 'tK', 'event'), range(100), 'K: every event written before terminate()');
  const ticks = seqs(mem.records, 'tK', 'tick');
  t.same(ticks, range(ticks.length), `K: the ticks arrive without a gap (${ticks.length})`);
  t.same(seqs(mem.records, 'tX', 'event'), range(100), 'X: every event written before process.exit()');
  const spans = mem.records.filter((r): r is SpanEndRecord => r.kind === 'spanEnd');
  t.equal(spans.filter((s) => s.span.thread?.name === 'K').length, 100, 'K: every span');
  t.equal(spans.filter((s) => s.span.thread?.name === 'X').length, 100, 'X: every span');
  const stats = await d.stats();
  t.equal(stats.endedRings, 2, "both threads' rings dropped");
  t.equal(stats.threads.length, 1, 'only the main thread is left in stats');
  identities(t, stats);
});

t.test('nested workers: terminate() of an attached thread ends its attached child too; both rings drained and dropped', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const parent = start({ label: 'P', count: 10, nested: { label: 'C', count: 20, reportEarly: true, tickMs: 1, end: 'hang' } });
  // The child's report travels through the parent.
  const first = await parent.next();
  t.equal(first.label, 'C', 'the nested thread attached and recorded');
  await until(() => d.attachedThreads === 2, 'both threads attached');
  await sleep(50);
  await parent.worker.terminate();
  await until(() => d.attachedThreads === 0, 'both rings to be dropped');
  await d.flush();
  const mem = await d.inspectSink<MemorySinkContents>('mem');
  t.same(seqs(mem.records, 'tP', 'event'), range(10), 'the parent: every event');
  t.same(seqs(mem.records, 'tC', 'event'), range(20), 'the nested child: every event');
  const ticks = seqs(mem.records, 'tC', 'tick');
  t.same(ticks, range(ticks.length), `the nested child's ticks without a gap (${ticks.length})`);
  const stats = await d.stats();
  t.equal(stats.endedRings, 2);
  identities(t, stats);
});

t.test('1,000 attach/detach cycles on 100 short-lived threads: ring count back to the start, memory flat', async (t) => {
  const build = compileForChildren();
  t.teardown(build.remove);
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace', options: { limit: 100 } }] });
  t.teardown(() => d.shutdown());
  const CYCLES = 1000;
  // Ten rings per thread (nine detached, the last detached or left to the thread's end): a thread costs far more to start than a ring.
  const PER_THREAD = 10;
  const THREADS = CYCLES / PER_THREAD;
  const PARALLEL = 4;
  let started = 0;
  let rssWarm = 0;
  const errors: unknown[] = [];
  const runOne = async (): Promise<void> => {
    while (started < THREADS) {
      const seq = started++;
      // Plain JavaScript without the test runner's loader: a thread starts in a fraction of the time.
      // Every fourth thread detaches its last ring too; the others just end with it attached.
      const worker = new Worker(SHORT_LIVED, { workerData: { build: build.dir, seq, cycles: PER_THREAD, detach: seq % 4 === 0 }, execArgv: [], name: `s${seq}` });
      worker.on('message', (m: unknown) => errors.push(m));
      await new Promise((resolve) => worker.once('exit', resolve));
      if (seq === 10) rssWarm = process.memoryUsage().rss;
    }
  };
  const began = performance.now();
  await Promise.all(range(PARALLEL).map(runOne));
  t.comment(`${THREADS} threads, ${CYCLES} rings: ${((performance.now() - began) / 1000).toFixed(1)} s`);
  t.same(errors, [], 'every thread attached');
  await until(() => d.attachedThreads === 0, 'every ring to be dropped');
  await d.flush();
  const stats = await d.stats();
  t.equal(stats.threads.length, 1, 'the main thread only in stats');
  t.equal(stats.endedRings, CYCLES, 'every ring attached, drained and dropped');
  t.equal(stats.written, CYCLES, 'one record per ring written');
  identities(t, stats);
  const rss = process.memoryUsage().rss;
  t.ok(rss - rssWarm < 96 * 1024 * 1024, `RSS after ${CYCLES} rings within 96 MiB of its value after 100 rings (${((rss - rssWarm) / 2 ** 20).toFixed(1)} MiB)`);
});
