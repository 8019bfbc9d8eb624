/**
 * TraceDispatcher.attach() end to end: worker threads record into rings of
 * their own, drained by the one dispatcher worker; records carry thread.id
 * and thread.name; attach with no dispatcher and attach twice.
 */
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { AttachError, ERROR_CODES, TraceDispatcher, type EventRecord, type MemorySinkContents, type SpanEndRecord } from '../src/index.js';
import type { AttachedThreadData } from './fixtures/attached-thread.js';

const FIXTURE = new URL('./fixtures/attached-thread.ts', import.meta.url);

interface Report {
  label: string;
  recorded?: boolean;
  threadId?: number;
  same?: boolean;
  error?: { name: string; code: string; message: string };
}

/** Run the fixture thread to its end; resolves with its reports. */
function runThread(data: AttachedThreadData): Promise<Report[]> {
  const worker = new Worker(FIXTURE, { workerData: data, name: data.label });
  const reports: Report[] = [];
  worker.on('message', (m: Report) => reports.push(m));
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => resolve(reports));
  });
}

t.test('two attached threads and the main thread: every span and event arrives with its thread', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const main = d.tracerProvider.getTracer('tmain').startSpan('main-span');
  main.end();
  const [a, b] = await Promise.all([runThread({ label: 'A', count: 50, flush: true }), runThread({ label: 'B', count: 30, flush: true })]);
  t.ok(a[0]?.recorded, 'A recorded');
  t.ok(b[0]?.recorded, 'B recorded');
  await d.flush();
  const mem = await d.inspectSink<MemorySinkContents>('mem');
  const ends = mem.records.filter((r): r is SpanEndRecord => r.kind === 'spanEnd');
  const events = mem.records.filter((r): r is EventRecord => r.kind === 'event');
  const byThread = (name: string) => ends.filter((r) => r.span.thread?.name === name);
  t.equal(byThread('A').length, 50, 'A: 50 spans');
  t.equal(byThread('B').length, 30, 'B: 30 spans');
  t.equal(byThread('main').length, 1, 'main: 1 span');
  t.equal(byThread('main')[0]!.span.thread!.id, 0, 'main thread id 0');
  t.equal(byThread('A')[0]!.span.thread!.id, a[0]!.threadId, 'A: its threadId');
  t.equal(events.filter((e) => e.thread?.name === 'A' && e.target === 'tA').length, 50, 'A: 50 events');
  t.equal(events.filter((e) => e.thread?.name === 'B' && e.target === 'tB').length, 30, 'B: 30 events');
  const stats = await d.stats();
  t.equal(stats.offered, stats.written + stats.dropped + stats.oversize, 'total: offered == written + dropped + oversize');
  t.equal(stats.decoded + stats.corrupt, stats.written, 'total: decoded + corrupt == written');
  t.equal(stats.threads[0]!.threadName, 'main', 'the main thread first in stats.threads');
});

t.test('attach twice returns the same handle', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory' }] });
  t.teardown(() => d.shutdown());
  const reports = await runThread({ label: 'T', twice: true });
  t.same(reports[0], { label: 'T', same: true });
});

t.test('attach with no dispatcher: AttachError, code RINGTRACE_NO_DISPATCHER', async (t) => {
  const reports = await runThread({ label: 'N', timeoutMs: 200 });
  t.equal(reports[0]?.error?.name, 'AttachError');
  t.equal(reports[0]?.error?.code, ERROR_CODES.NO_DISPATCHER);
  t.match(reports[0]?.error?.message, /within 200 ms/);
});

t.test('attach on the main thread rejects at once', async (t) => {
  await t.rejects(TraceDispatcher.attach(), AttachError);
  await t.rejects(TraceDispatcher.attach(), { code: 'RINGTRACE_NO_DISPATCHER' });
});
