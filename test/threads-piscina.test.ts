/**
 * A piscina pool of 4 threads, each attached to the main thread's
 * dispatcher (test/fixtures/piscina-pool-worker.ts), 400 tasks run through
 * `tracedPool` inside one main-thread span: 400 task spans and 400 children
 * arrive, each task span a child of that span, from 4 distinct thread ids,
 * with exact counts and no drops.
 */
import t from 'tap';
import { threadId } from 'node:worker_threads';
import { trace } from '@opentelemetry/api';
import { Piscina } from 'piscina';
import { TraceDispatcher, tracedPool } from '../src/index.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import type { SpanEndRecord } from '../src/record/trace-record.js';
import type { TaskResult } from './fixtures/piscina-pool-worker.js';

const THREADS = 4;
const TASKS = 400;

t.test('400 tasks on 4 attached threads: every span, each a child of the main thread\'s', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory' }] });
  d.install();
  t.teardown(() => d.shutdown());
  const pool = tracedPool(new Piscina({ filename: new URL('./fixtures/piscina-pool-worker.ts', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS }));
  t.teardown(() => pool.destroy());

  // Every worker up and attached before the tasks, so the first four tasks go to four idle workers.
  const cells = new SharedArrayBuffer(4);
  const entered = await Promise.all(Array.from({ length: THREADS }, () => pool.run({ cells, count: THREADS }, { name: 'barrier' }) as Promise<number>));
  t.equal(new Set(entered).size, THREADS, 'the barrier held four distinct workers');

  const tracer = trace.getTracer('main');
  let batch!: { traceId: string; spanId: string };
  const results = await tracer.startActiveSpan('batch', async (span) => {
    batch = span.spanContext();
    const out = await Promise.all(Array.from({ length: TASKS }, (_, i) => pool.run({ i }) as Promise<TaskResult>));
    span.end();
    return out;
  });
  t.equal(results.length, TASKS);
  t.equal(new Set(results.map((r) => r.threadId)).size, THREADS, 'the tasks ran on four threads');
  t.ok(results.every((r) => r.traceId === batch.traceId), 'every task span in the batch trace (as the worker saw it)');

  await d.flush();
  const { records } = await d.inspectSink<MemorySinkContents>('mem');
  const ends = records.filter((r): r is SpanEndRecord => r.kind === 'spanEnd');
  const tasks = ends.filter((r) => r.span.name === 'task');
  const children = ends.filter((r) => r.span.name === 'child');
  t.equal(tasks.length, TASKS, 'every task span arrived');
  t.equal(children.length, TASKS, 'every child span arrived');
  t.equal(new Set(tasks.map((r) => r.span.spanId)).size, TASKS, 'once each');
  t.ok(tasks.every((r) => r.span.traceId === batch.traceId && r.span.parentSpanId === batch.spanId), 'each task span a child of batch');
  const taskIds = new Set(tasks.map((r) => r.span.spanId));
  t.ok(children.every((r) => taskIds.has(r.span.parentSpanId ?? '') && r.span.traceId === batch.traceId), 'each child a child of a task span');
  const byTask = new Map(tasks.map((r) => [r.span.spanId, r.span.thread?.id]));
  t.ok(children.every((r) => r.span.thread?.id === byTask.get(r.span.parentSpanId ?? '')), 'a child on its task\'s thread');
  const threads = new Set(tasks.map((r) => r.span.thread?.id));
  t.equal(threads.size, THREADS, 'from four distinct thread ids');
  t.notOk(threads.has(threadId), 'none from the main thread');
  t.same([...threads].sort(), [...new Set(results.map((r) => r.threadId))].sort(), 'the ids of the threads that ran them');
  const main = ends.find((r) => r.span.name === 'batch');
  t.equal(main?.span.thread?.id, threadId, 'batch from the main thread');

  const stats = await d.stats();
  t.equal(stats.dropped, 0, 'no drops');
  t.equal(stats.oversize, 0);
  t.equal(stats.offered, stats.written, 'offered == written');
  t.equal(stats.decoded, stats.written, 'decoded == written');
  const pooled = stats.threads.filter((s) => threads.has(s.threadId));
  t.equal(pooled.length, THREADS, 'stats() shows each pool thread');
  for (const s of pooled) {
    t.ok(s.written > 0 && s.dropped === 0 && s.offered === s.written && s.decoded === s.written, `thread ${s.threadId} (${s.threadName}): ${s.written} written, none dropped, all decoded`);
  }
});
