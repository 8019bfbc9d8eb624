/**
 * TraceDispatcher.attach() end to end: worker threads record into rings of
 * their own, drained by the one dispatcher worker; records carry thread.id
 * and thread.name; attach with no dispatcher and attach twice.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { attr, otlpReceiver } from './fixtures/otlp-receiver.js';
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

t.test('thread.id and thread.name from two threads: OTLP span and log attributes, chrome-trace lanes per thread', async (t) => {
  const receiver = await otlpReceiver();
  t.teardown(() => receiver.close());
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-threads-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'trace.json');
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'otlp', sink: 'otlp', filter: 'trace', options: { endpoint: `${receiver.url}/v1/traces`, logsEndpoint: `${receiver.url}/v1/logs`, protocol: 'http/protobuf', compression: 'none' } },
      { name: 'chrome', sink: 'chrome-trace', filter: 'trace', options: { path, lanes: 'thread' } },
    ],
  });
  const main = d.tracerProvider.getTracer('tmain').startSpan('main-span');
  main.end();
  const [a, b] = await Promise.all([runThread({ label: 'A', count: 3, flush: true }), runThread({ label: 'B', count: 2, flush: true })]);
  await d.shutdown();
  const spans = receiver.spans().map((s) => s.item);
  const threadOf = (list: Parameters<typeof attr>[0]) => `${String(attr(list, 'thread.name'))}/${String(attr(list, 'thread.id'))}`;
  const spanThreads = spans.map((s) => threadOf(s.attributes)).sort();
  t.same(spanThreads, ['A/' + a[0]!.threadId, 'A/' + a[0]!.threadId, 'A/' + a[0]!.threadId, 'B/' + b[0]!.threadId, 'B/' + b[0]!.threadId, 'main/0'].sort(), 'OTLP spans: thread.name/thread.id of the thread that made each');
  const logThreads = receiver.logs().map((l) => threadOf(l.item.attributes)).sort();
  t.same(logThreads, [...Array(3).fill('A/' + a[0]!.threadId), ...Array(2).fill('B/' + b[0]!.threadId)].sort(), 'OTLP log records: the thread that made each');
  const events = JSON.parse(readFileSync(path, 'utf8')) as { ph: string; name: string; tid: number; args?: Record<string, unknown> }[];
  const laneNames = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, String(e.args!['name'])]));
  const laneOf = (label: string) => new Set(events.filter((e) => e.ph === 'X' && e.args?.['thread.name'] === label).map((e) => laneNames.get(e.tid)));
  t.same([...laneOf('A')], [`A (${a[0]!.threadId})`], "chrome-trace: A's spans on A's lane");
  t.same([...laneOf('B')], [`B (${b[0]!.threadId})`], "chrome-trace: B's spans on B's lane");
  t.same([...laneOf('main')], ['main (0)'], "chrome-trace: the main thread's span on its lane");
  const instantLanes = new Set(events.filter((e) => e.ph === 'i' && e.name === 'event').map((e) => laneNames.get(e.tid)));
  t.same([...instantLanes].sort(), [`A (${a[0]!.threadId})`, `B (${b[0]!.threadId})`].sort(), 'chrome-trace: standalone events on their thread lanes');
});

t.test("an attached thread samples as start()'s options say, not as its environment does", async (t) => {
  // A variable the thread alone would reject: start()'s sampler option wins over it on the main thread, and must in the thread too.
  process.env['OTEL_TRACES_SAMPLER'] = 'nope';
  t.teardown(() => delete process.env['OTEL_TRACES_SAMPLER']);
  const d = await TraceDispatcher.start({ sampler: 'always_off', sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const [a] = await Promise.all([runThread({ label: 'S', count: 20, flush: true })]);
  t.ok(a[0]?.recorded, 'the thread attached and recorded');
  await d.flush();
  const mem = await d.inspectSink<MemorySinkContents>('mem');
  t.equal(mem.records.filter((r) => r.kind === 'spanEnd').length, 0, 'no span sampled (always_off)');
  t.equal(mem.records.filter((r): r is EventRecord => r.kind === 'event' && r.target === 'tS').length, 20, 'its 20 events arrive');
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
