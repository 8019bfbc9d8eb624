/**
 * WorkerRuntime driven in this process, over a real MessageChannel, as
 * workers/dispatcher-worker.ts hosts it in the piscina thread: start and the
 * start failure, every control request and its errors, restart notice,
 * sink context, shutdown.
 */
import t from 'tap';
import type { EventRecord } from '../src/record/trace-record.js';
import type { DispatcherHealth } from '../src/sinks/dispatcher-health.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import { MAX_SINKS } from '../workers/fan-out.js';
import type { SinkStats } from '../workers/sink-slot.js';
import type { WorkerStats } from '../src/control/control-protocol.js';
import runDispatcher from '../workers/dispatcher-worker.js';
import type { CountingSummary } from './fixtures/counting-sink.js';
import type { ContextSinkContents } from './fixtures/context-sink.js';
import { builtinSpec, moduleSpec, runtimeHarness } from './fixtures/worker-harness.js';

/** A sink module whose inspect() answers its context's stats(). */
const HEALTH_SINK = 'data:text/javascript,export default (options, context) => ({ consume() {}, flush() {}, inspect: () => context.stats() })';

t.test('start, deliver, flush, inspect, stats, shutdown over the control port', async (t) => {
  const h = runtimeHarness({ sinks: [builtinSpec('mem', 'memory', 'info'), moduleSpec('count', 'counting-sink.ts', 'warn')] });
  const run = h.runtime.run(h.seed.sinks);
  t.same(await h.runtime.started, { type: 'ready' });
  t.ok(h.event('charged', { amount: 12 }));
  t.ok(h.event('chatty', undefined, 'app', 2), 'a debug event: filtered by both');
  t.ok(h.event('slow', undefined, 'app', 4));
  t.equal(await h.app.call({ type: 'flush', position: h.writer.writePosition }), undefined);
  t.same(h.app.startMessages, [{ type: 'ready' }], 'ready is posted on the port too');

  const mem = await h.app.call<MemorySinkContents>({ type: 'inspect', name: 'mem' });
  t.same(
    mem.records.map((r) => (r as EventRecord).message),
    ['charged', 'slow'],
  );
  t.ok(mem.flushes >= 1, 'flush request flushed the sink');
  const count = await h.app.call<CountingSummary>({ type: 'inspect', name: 'count' });
  t.equal(count.events, 1);

  const stats = await h.app.call<WorkerStats>({ type: 'stats' });
  t.equal(stats.decoded, 3);
  const byName = Object.fromEntries(stats.sinks.map((s) => [s.name, s]));
  t.match(byName['mem'], { filter: 'info', delivered: 2, filtered: 1, failed: 0 });
  t.match(byName['count'], { filter: 'warn', delivered: 1, filtered: 2, failed: 0 });

  t.ok(h.event('last one', undefined, 'app', 5));
  const final = await h.app.call<WorkerStats>({ type: 'shutdown', position: h.writer.writePosition });
  t.equal(final.decoded, 4, 'shutdown drained what was written before it');
  t.ok(final.sinks.every((s) => s.closed));
  const ran = await run;
  t.same(ran, final, 'run() resolves with the shutdown stats');
  await h.app.closed;
  t.same(await h.runtime.shutdown(0), final, 'a second shutdown answers the same');
});

t.test('the piscina entry resolves at ready and keeps draining', async (t) => {
  const h = runtimeHarness({ sinks: [builtinSpec('mem', 'memory')] });
  t.same(await runDispatcher(h.seed), { type: 'ready' });
  t.ok(h.event('after ready'));
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await h.app.closed;
  t.same(h.app.startMessages, [{ type: 'ready' }]);
});

t.test('a sink that fails to load: startFailed, the sinks loaded before it are closed', async (t) => {
  const h = runtimeHarness({ sinks: [builtinSpec('mem', 'memory'), moduleSpec('broken', 'factory-throws-sink.ts')] });
  const run = h.runtime.run(h.seed.sinks);
  const started = await h.runtime.started;
  t.match(started, { type: 'startFailed', error: { name: 'SinkError', sinkName: 'broken', message: /factory failed: cannot construct this sink/ } });
  const stats = await run;
  t.same(
    stats.sinks.map((s) => [s.name, s.closed]),
    [['mem', true]],
  );
  await h.app.closed;
  t.same(h.app.startMessages, [started], 'the failure is posted on the port, then the port closes');
});

t.test('control request errors come back as replies naming the sink', async (t) => {
  const h = runtimeHarness({ sinks: [builtinSpec('mem', 'memory'), moduleSpec('thrower', 'throwing-sink.ts', 'off')] });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  const fail = async (request: Parameters<typeof h.app.request>[0], sinkName: string, message: RegExp) => {
    const reply = await h.app.request(request);
    t.match(reply, { ok: false, error: { name: 'SinkError', sinkName, message } }, `${request.type} ${sinkName}`);
  };
  await fail({ type: 'addSink', spec: builtinSpec('mem', 'memory') }, 'mem', /already registered/);
  await fail({ type: 'addSink', spec: builtinSpec('bad-filter', 'memory', 'info,db=loud') }, 'bad-filter', /loud/);
  await fail({ type: 'addSink', spec: builtinSpec('nope', 'no-such-sink') }, 'nope', /unknown built-in sink "no-such-sink"/);
  await fail({ type: 'removeSink', name: 'ghost' }, 'ghost', /no sink with this name/);
  await fail({ type: 'inspect', name: 'ghost' }, 'ghost', /no sink with this name/);
  await fail({ type: 'inspect', name: 'thrower' }, 'thrower', /has no inspect\(\)/);
  t.equal(h.runtime.fanOut.slots.length, 2, 'failed adds registered nothing');
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});

t.test('addSink and removeSink at run time; a removed sink is flushed and closed', async (t) => {
  const h = runtimeHarness({ sinks: [builtinSpec('a', 'memory')] });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  h.event('one');
  await h.app.call({ type: 'flush', position: h.writer.writePosition });
  await h.app.call({ type: 'addSink', spec: builtinSpec('b', 'memory') });
  h.event('two');
  await h.app.call({ type: 'flush', position: h.writer.writePosition });
  const a = await h.app.call<MemorySinkContents>({ type: 'inspect', name: 'a' });
  const removed = await h.app.call<SinkStats>({ type: 'removeSink', name: 'a' });
  t.match(removed, { name: 'a', delivered: 2, closed: true });
  t.ok(removed.flushes >= 3, 'flushed again on removal');
  t.equal(a.records.length, 2);
  h.event('three');
  await h.app.call({ type: 'flush', position: h.writer.writePosition });
  const b = await h.app.call<MemorySinkContents>({ type: 'inspect', name: 'b' });
  t.same(
    b.records.map((r) => (r as EventRecord).message),
    ['two', 'three'],
    'b sees records from its addition on',
  );
  const final = await h.app.call<WorkerStats>({ type: 'shutdown', position: h.writer.writePosition });
  t.same(
    final.sinks.map((s) => s.name),
    ['b'],
  );
  await run;
});

t.test(`at most ${MAX_SINKS} sinks; a freed slot is reusable`, async (t) => {
  const h = runtimeHarness();
  const run = h.runtime.run([]);
  await h.runtime.started;
  for (let i = 0; i < MAX_SINKS; i++) await h.app.call({ type: 'addSink', spec: builtinSpec(`s${i}`, 'memory') });
  const reply = await h.app.request({ type: 'addSink', spec: builtinSpec('one-too-many', 'memory') });
  t.match(reply, { ok: false, error: { name: 'SinkError', sinkName: 'one-too-many', message: new RegExp(`at most ${MAX_SINKS} sinks`) } });
  await h.app.call({ type: 'removeSink', name: 's7' });
  await h.app.call({ type: 'addSink', spec: builtinSpec('late', 'memory') });
  t.equal(h.runtime.fanOut.slots.length, MAX_SINKS);
  t.equal(h.runtime.fanOut.slots.find((s) => s.name === 'late')!.bit, 1 << 7, "the removed sink's bit is reused");
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});

t.test('a restarted worker reports the restart to the sinks', async (t) => {
  const h = runtimeHarness({
    sinks: [builtinSpec('mem', 'memory')],
    restart: { reason: 'worker exited with code 1', restarts: 2, lostInFlight: 5 },
  });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  const mem = await h.app.call<MemorySinkContents>({ type: 'inspect', name: 'mem' });
  t.equal(mem.records.length, 1);
  const notice = mem.records[0] as EventRecord;
  t.match(notice, { kind: 'event', level: 'error', target: 'ringtrace', message: 'dispatcher worker died and was restarted' });
  t.same({ ...notice.fields }, { reason: 'worker exited with code 1', restarts: 2, lost_in_flight: 5 });
  t.equal(h.diagnostics.reported, 1);
  t.equal(h.runtime.health.read().workerRestarts, 2, "the sinks' health view counts the restarts");
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});

t.test("sinks get the resource and the dispatcher's health", async (t) => {
  const h = runtimeHarness({ sinks: [moduleSpec('ctx', 'context-sink.ts', 'info', { x: 1 })], resource: { 'service.name': 'shop' } });
  // Records written before the worker drains anything count as written and queued.
  h.event('queued');
  h.event('queued too', { k: 'v' });
  h.writer.countDrop();
  h.writer.countOversize();
  const before: DispatcherHealth = h.runtime.health.read();
  t.match(before, { offered: 4, written: 2, dropped: 1, oversize: 1, decoded: 0, queueRecords: 2, workerRestarts: 0, sinks: [] });
  t.ok(before.queueBytes > 0);
  t.equal(before.queueHighWaterBytes, before.queueBytes);
  t.equal(before.queueCapacityBytes, h.runtime.reader.capacity);

  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  const ctx = await h.app.call<ContextSinkContents>({ type: 'inspect', name: 'ctx' });
  t.same(ctx, { name: 'ctx', resource: { 'service.name': 'shop' }, hasStats: true, options: { x: 1 } });
  // A sink asks for the health through its context, as the prometheus sink does.
  await h.app.call({ type: 'addSink', spec: moduleSpec('health', HEALTH_SINK, 'off') });
  await h.app.call({ type: 'flush', position: h.writer.writePosition });
  const after = await h.app.call<DispatcherHealth>({ type: 'inspect', name: 'health' });
  t.match(after, { offered: 4, written: 2, decoded: 2, queueRecords: 0, queueBytes: 0 });
  t.match(after.sinks, [
    { name: 'ctx', delivered: 2, filtered: 0, failed: 0 },
    { name: 'health', delivered: 0, filtered: 0, failed: 0 },
  ]);
  t.ok(after.queueHighWaterBytes >= before.queueBytes);
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});

t.test('shutdown called in the worker itself ends run() too', async (t) => {
  const h = runtimeHarness({ sinks: [builtinSpec('mem', 'memory')] });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  h.event('before shutdown');
  const final = await h.runtime.shutdown(h.writer.writePosition);
  t.same(await run, final);
  t.match(final, { decoded: 1, sinks: [{ name: 'mem', delivered: 1, closed: true }] });
  await h.app.closed;
});

