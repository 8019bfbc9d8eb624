/**
 * SinkSlot, Diagnostics and loadSink in this process: a throwing, rejecting
 * or hanging sink is counted and reported (rate limited per key, with the
 * suppressed count), a sink failing on a diagnostic is not reported again,
 * and every way a sink module can fail to load names the sink.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { SinkError } from '../src/errors.js';
import { TargetFilter } from '../src/filter/target-filter.js';
import type { EventRecord, TraceRecord } from '../src/record/trace-record.js';
import { RecordDecoder } from '../src/decoder/record-decoder.js';
import { RingReader } from '../src/ring/ring-reader.js';
import { DrainLoop } from '../workers/drain-loop.js';
import { FanOut } from '../workers/fan-out.js';
import type { TraceSink } from '../src/sinks/trace-sink.js';
import { Diagnostics, DIAGNOSTIC_TARGET } from '../workers/diagnostics.js';
import { BUILTIN_SINK_MODULES, builtinExtension, loadSink } from '../workers/sink-loader.js';
import { DEFAULT_SINK_TIMEOUT_MS } from '../src/defaults.js';
import { SinkSlot } from '../workers/sink-slot.js';
import createThrowingSink from './fixtures/throwing-sink.js';
import { FakeClock, RecordingSink, builtinSpec, loopParts, moduleSpec, producer, silentLogger } from './fixtures/worker-harness.js';

const EVENT: EventRecord = { kind: 'event', time: 1, level: 'info', target: 'app', message: 'm', fields: {}, traceId: undefined, spanId: undefined };

function slot(sink: TraceSink, options: { timeoutMs?: number; diagnostics?: Diagnostics } = {}) {
  const diagnostics = options.diagnostics ?? new Diagnostics({ logger: silentLogger });
  return { slot: new SinkSlot('s', TargetFilter.parse('info'), sink, 1, diagnostics, options.timeoutMs), diagnostics };
}

const never = () => new Promise<void>(() => {});

t.test('a flush that never settles is abandoned after the timeout, counted and reported; the sink is retired without close', async (t) => {
  let closes = 0;
  const { slot: s, diagnostics } = slot({ consume() {}, flush: never, close: () => void closes++ }, { timeoutMs: 20 });
  t.equal(await s.flush(), true, 'the flush was made (and timed out)');
  t.match(s.stats, { flushes: 1, flushFailures: 1 });
  t.match(diagnostics.pending, [{ target: DIAGNOSTIC_TARGET, level: 'error', message: 'sink flush failed', fields: { sink: 's', error: 'Error: flush did not settle within 20 ms' } }]);
  t.equal(await s.flush(), false, 'no second flush while the first is still pending in the sink');
  await s.close();
  t.equal(s.stats.closed, true);
  t.equal(closes, 0, 'close is never called while the abandoned flush is pending');
  t.match(s.stats, { flushes: 1, flushFailures: 1, skippedFlushes: 2 }, 'the final flush was skipped too');
  t.match(diagnostics.pending.at(-1), { message: 'sink retired without close: an earlier call that timed out never settled' });
  t.equal(new SinkSlot('d', TargetFilter.parse('info'), new RecordingSink(), 2, diagnostics).timeoutMs, DEFAULT_SINK_TIMEOUT_MS);
});

t.test('calls never overlap after a timeout: a sink that resolves late is skipped until it settles, then flushed and closed', async (t) => {
  let inFlight = 0;
  let maxInFlight = 0;
  const calls: string[] = [];
  const late = (name: string, ms: number) => () => {
    calls.push(name);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        inFlight--;
        resolve();
      }, ms),
    );
  };
  let flushes = 0;
  const sink: TraceSink = {
    consume() {},
    flush: () => late(`flush${++flushes}`, flushes === 1 ? 90 : 1)(),
    close: late('close', 1),
  };
  const { slot: s } = slot(sink, { timeoutMs: 30 });
  await s.flush();
  t.equal(s.stats.flushFailures, 1, 'the first flush timed out');
  s.flushIfIdle();
  t.equal(await s.flush(), false, 'skipped: the sink is still busy');
  await new Promise((resolve) => setTimeout(resolve, 90));
  t.equal(await s.flush(), true, 'once the late flush settled, flushes run again');
  await s.close();
  t.same(calls, ['flush1', 'flush2', 'flush3', 'close']);
  t.equal(maxInFlight, 1, 'never two calls in flight at once');
  t.equal(s.stats.skippedFlushes, 2);
});

t.test('close waits for a late call to settle within one more timeout, then closes', async (t) => {
  const calls: string[] = [];
  let release!: () => void;
  const sink: TraceSink = {
    consume() {},
    flush: () => {
      calls.push('flush');
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    close: () => void calls.push('close'),
  };
  const { slot: s } = slot(sink, { timeoutMs: 40 });
  await s.flush();
  setTimeout(() => {
    calls.push('settled');
    release();
  }, 10);
  await s.close();
  t.same(calls, ['flush', 'settled', 'close']);
});

t.test('throwing consume, flush and close: counted, reported, the slot keeps working', async (t) => {
  const { slot: s, diagnostics } = slot(createThrowingSink());
  s.consume(EVENT);
  s.consume(EVENT);
  t.match(s.stats, { delivered: 0, failed: 2 });
  t.equal(diagnostics.reported, 1, 'one report per key and interval');
  t.equal(diagnostics.suppressed, 1);
  await s.flush();
  t.match(s.stats, { flushes: 1, flushFailures: 1 });
  await s.close();
  await s.close();
  await s.flush();
  t.match(s.stats, { flushes: 2, flushFailures: 2, closed: true }, 'close flushed once; nothing after close');
  t.same(
    diagnostics.pending.map((r) => [r.message, r.fields['error']]),
    [
      ['sink consume failed', 'Error: consume exploded'],
      ['sink flush failed', 'Error: flush exploded'],
      ['sink close failed', 'Error: close exploded'],
    ],
  );
  t.equal(diagnostics.pending[0]!.fields['record_kind'], 'event');
});

t.test('a sink without close() is closed after its final flush', async (t) => {
  const sink = { consumed: 0, flushes: 0, consume() {}, flush() {} };
  const { slot: s } = slot({ consume: () => void sink.consumed++, flush: () => void sink.flushes++ });
  s.consume(EVENT);
  await s.close();
  t.same([sink.consumed, sink.flushes, s.stats.closed, s.stats.delivered], [1, 1, true, 1]);
});

t.test('flushes do not overlap: a second flush waits; flushIfIdle skips a busy sink', async (t) => {
  let running = 0;
  let overlapped = false;
  let calls = 0;
  let release!: () => void;
  const { slot: s } = slot({
    consume() {},
    flush() {
      calls++;
      if (running++ > 0) overlapped = true;
      return new Promise<void>((resolve) => {
        release = () => {
          running--;
          resolve();
        };
      });
    },
  });
  const first = s.flush();
  t.equal(s.flushing, true);
  s.flushIfIdle();
  const second = s.flush();
  await new Promise((r) => setImmediate(r));
  t.equal(calls, 1, 'the second flush waits for the first');
  release();
  await first;
  await new Promise((r) => setImmediate(r));
  t.equal(calls, 2);
  release();
  await second;
  t.equal(overlapped, false);
  t.equal(s.flushing, false);
  t.equal(s.stats.flushes, 2);
  s.flushIfIdle();
  t.equal(calls, 3, 'an idle sink is flushed');
  release();
  const closing = s.close();
  await new Promise((r) => setImmediate(r));
  t.equal(calls, 4, 'close flushes');
  release();
  await closing;
  s.flushIfIdle();
  t.equal(calls, 4, 'nothing after close');
});

t.test('a sink that fails on a diagnostic is not reported again; the others still get it', async (t) => {
  const p = loopParts();
  const good = new RecordingSink();
  p.add('bad', 'trace', createThrowingSink());
  p.add('good', 'trace', good);
  p.add('quiet', 'off', new RecordingSink());
  p.event('x');
  p.loop.drainBatch(10);
  t.equal(p.diagnostics.reported, 1, 'the consume failure');
  t.same(good.messages(), ['x', 'sink consume failed']);
  t.match(p.fanOut.stats(), [
    { name: 'bad', failed: 1, diagnostics: 1 },
    { name: 'good', delivered: 1, diagnostics: 1 },
    { name: 'quiet', filtered: 1, diagnostics: 0 },
  ]);
  t.equal(p.diagnostics.pending.length, 0, 'delivered and cleared');
});

t.test('Diagnostics: rate limited per key, the next report carries suppressed_count', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { base: null },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  );
  const clock = new FakeClock();
  const d = new Diagnostics({ logger, intervalMs: 1000, now: clock.now });
  t.equal(d.report('a', 'A failed', { sink: 'a' }), true);
  t.equal(d.report('a', 'A failed', { sink: 'a' }), false);
  t.equal(d.report('b', 'B failed', { n: 1, ok: false }, 'a string error'), true, 'another key is not limited');
  clock.advance(999);
  t.equal(d.report('a', 'A failed', { sink: 'a' }), false);
  clock.advance(1);
  t.equal(d.report('a', 'A failed again', { sink: 'a' }, new TypeError('bad')), true);
  t.equal(d.report('a', 'A', {}), false);
  t.same([d.reported, d.suppressed], [3, 3]);
  const unprintable = { toString: () => { throw new Error('no'); } };
  clock.advance(1000);
  d.report('a', 'odd', {}, unprintable);
  t.same(
    d.pending.map((r) => ({ ...r.fields })),
    [{ sink: 'a' }, { n: 1, ok: false, error: 'a string error' }, { sink: 'a', suppressed_count: 2, error: 'TypeError: bad' }, { suppressed_count: 1, error: '[unprintable error]' }],
  );
  t.ok(d.pending.every((r) => r.kind === 'event' && r.level === 'error' && r.target === 'ringtrace' && r.traceId === undefined));
  t.ok(d.pending.every((r) => Math.abs(r.time - Date.now()) < 60_000), 'epoch milliseconds');
  await new Promise((r) => setImmediate(r));
  t.same(
    lines.map((l) => [l['level'], l['msg'], l['suppressed_count']]),
    [
      [50, 'A failed', undefined],
      [50, 'B failed', undefined],
      [50, 'A failed again', 2],
      [50, 'odd', 1],
    ],
    'each report went to the logger at error level',
  );
});

t.test('Diagnostics: the per-key table stays bounded', async (t) => {
  const clock = new FakeClock();
  const d = new Diagnostics({ logger: silentLogger, now: clock.now });
  let reported = 0;
  for (let i = 0; i <= 1024; i++) if (d.report(`k${i}`, 'm', {})) reported++;
  t.equal(reported, 1025, 'distinct keys are not limited');
  t.equal(d.report('k1024', 'm', {}), false, 'a recent key is still limited');
  t.equal(d.report('k0', 'm', {}), true, 'the oldest key was forgotten');
  t.equal(new Diagnostics().pending.length, 0, 'the default logger goes to stderr (nothing written here)');
});

t.test('emit queues an event without logging it', async (t) => {
  const d = new Diagnostics({ logger: silentLogger });
  d.emit('warn', 'note', { x: 1 });
  t.match(d.pending, [{ level: 'warn', message: 'note', fields: { x: 1 } }]);
  t.equal(d.reported, 0);
});

t.test('loadSink: built-ins and modules; every failure is a SinkError naming the sink', async (t) => {
  const mem = await loadSink(builtinSpec('m', 'memory', 'info', { limit: 2 }));
  t.type(mem.consume, 'function');
  t.ok('memory' in BUILTIN_SINK_MODULES);
  t.equal(builtinExtension('file:///app/node_modules/ringtrace/dist/workers/sink-loader.js'), '.js', 'from dist, built-ins load from dist');
  t.equal(builtinExtension('file:///repo/workers/sink-loader.ts'), '.ts', 'from source, from source');
  const ctx = (await loadSink(moduleSpec('ctx', 'context-sink.ts', 'info', { o: 1 }), { resource: { a: 1 } })) as TraceSink & { inspect(): unknown };
  t.same(ctx.inspect(), { name: 'ctx', resource: { a: 1 }, hasStats: false, options: { o: 1 } });
  const asyncFactory = await loadSink(moduleSpec('async', 'data:text/javascript,export default async () => ({ consume() {}, flush() {} })'));
  t.type(asyncFactory.flush, 'function', 'an async factory is awaited');

  const fails = async (spec: Parameters<typeof loadSink>[0], message: RegExp) => {
    const error = await loadSink(spec).then(
      () => null,
      (e: unknown) => e,
    );
    t.type(error, SinkError, spec.name);
    t.match(error, { sinkName: spec.name, message }, spec.name);
  };
  await fails(builtinSpec('nope', 'nope'), /unknown built-in sink "nope"/);
  await fails(moduleSpec('missing', 'does-not-exist.ts'), /cannot load module .*does-not-exist\.ts: /);
  await fails(moduleSpec('no-default', 'no-default-sink.ts'), /has no default export factory function/);
  await fails(moduleSpec('throws', 'factory-throws-sink.ts'), /factory failed: cannot construct this sink/);
  await fails(moduleSpec('throws-string', 'data:text/javascript,export default () => { throw "just a string" }'), /factory failed: just a string/);
  await fails(moduleSpec('not-a-sink', 'not-a-sink.ts'), /did not return a sink with consume\(\) and flush\(\)/);
  await fails(moduleSpec('null', 'data:text/javascript,export default () => null'), /did not return a sink/);
  await fails(moduleSpec('no-flush', 'data:text/javascript,export default () => ({ consume() {} })'), /did not return a sink/);
  await fails(moduleSpec('bad-options', 'data:text/javascript,export default () => 1'), /did not return a sink/);
  await fails(builtinSpec('mem-bad', 'memory', 'info', { limit: 0 }), /factory failed: .*memory\.limit/);
});

// ── backpressure: TraceSink.ready, SinkSlot.ready, FanOut.ready and the drain loop ──

/** A sink with a bounded queue that it empties `perTick` records a timer tick: full past `capacity`, ready under half. */
class SlowSink implements TraceSink {
  readonly queue: string[] = [];
  readonly taken: string[] = [];
  dropped = 0;
  #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout;
  constructor(
    readonly capacity: number,
    perTick: number,
  ) {
    this.#timer = setInterval(() => {
      this.taken.push(...this.queue.splice(0, perTick));
      if (this.queue.length < this.capacity / 2) for (const w of this.#waiters.splice(0)) w();
    }, 1);
  }
  consume(record: TraceRecord): void {
    if (this.queue.length >= this.capacity) this.dropped++;
    else this.queue.push(record.kind === 'event' ? record.message : record.kind);
  }
  flush(): void {}
  ready(): Promise<void> | null {
    if (this.queue.length < this.capacity / 2) return null;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The drain loop's parts with the fan-out's ready wait bound given. */
function backpressureParts(readyWaitMs: number) {
  const p = producer(4 * 1024 * 1024);
  const reader = new RingReader(p.ring);
  const decoder = new RecordDecoder(reader.bytes);
  const diagnostics = new Diagnostics({ logger: silentLogger });
  const fanOut = new FanOut(decoder, diagnostics, readyWaitMs);
  // Batches of 100 records: the slow sinks here leave room for one.
  const loop = new DrainLoop(reader, decoder, fanOut, diagnostics, { flushIntervalMs: 60_000, flushEveryRecords: 1_000_000, batchRecords: 100 });
  return { ...p, reader, fanOut, loop, diagnostics };
}

t.test('backpressure: a slow sink that says it is full holds the drain; nothing is dropped in the sink while the ring has room', async (t) => {
  // Generous bound: the sink always becomes ready; on a loaded machine its timer may be late, never this late.
  const { event, fanOut, loop, reader } = backpressureParts(30_000);
  const slow = new SlowSink(400, 50);
  t.teardown(() => slow.stop());
  const other = new RecordingSink();
  const slowSlot = fanOut.add('slow', TargetFilter.parse('info'), slow);
  fanOut.add('other', TargetFilter.parse('info'), other);
  const n = 20_000;
  let written = 0;
  for (let i = 0; i < n; i++) if (event(`e${i}`)) written++;
  t.equal(written, n, 'the ring holds them all');
  const running = loop.run();
  loop.stop();
  await running;
  t.equal(reader.available() - reader.position, 0, 'the ring is drained');
  while (slow.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  t.equal(slow.dropped, 0, 'the sink dropped nothing');
  t.equal(slow.taken.length, n, 'and took every record');
  t.same([slow.taken[0], slow.taken[n - 1]], ['e0', `e${n - 1}`]);
  t.equal(other.records.length, n, 'the other sink got every record too');
  t.ok(slowSlot.stats.readyWaits > 0, `the drain waited for the slow sink (${slowSlot.stats.readyWaits} times)`);
  t.equal(slowSlot.stats.readyTimeouts, 0, 'never past the bound');
  t.match(slowSlot.stats, { delivered: n, failed: 0 });
});

t.test('backpressure: a sink that never becomes ready costs one bounded wait; the worker and the other sinks carry on, its drops its own', async (t) => {
  const { event, fanOut, loop } = backpressureParts(50);
  let consumed = 0;
  let stuckNow = true;
  const stuck: TraceSink = { consume: (r) => void (r.kind === 'event' && r.target === 'app' && consumed++), flush() {}, ready: () => (stuckNow ? never() : null) };
  const other = new RecordingSink();
  const stuckSlot = fanOut.add('stuck', TargetFilter.parse('info'), stuck);
  fanOut.add('other', TargetFilter.parse('info'), other);
  for (let i = 0; i < 5000; i++) event(`e${i}`);
  const started = performance.now();
  const running = loop.run();
  loop.stop();
  await running;
  const ms = performance.now() - started;
  const events = other.records.filter((r) => r.kind === 'event' && r.target === 'app');
  t.equal(events.length, 5000, 'the other sink got every record');
  t.equal(consumed, 5000, 'the stuck sink is given every record after its wait ran out (what it drops is its own count)');
  t.match(stuckSlot.stats, { readyWaits: 1, readyTimeouts: 1, delivered: 5000 }, 'one wait for 50 batches, not one a batch');
  t.ok(stuckSlot.stats.readyWaitMs >= 45, `the wait lasted its bound (${stuckSlot.stats.readyWaitMs.toFixed(0)} ms)`);
  t.ok(ms < 30_000, 'the drain finished');
  t.match(other.records.filter((r) => r.kind === 'event' && r.target !== 'app'), [{ level: 'error', message: /sink not ready in time/, fields: { sink: 'stuck', wait_ms: 50 } }], 'reported');

  // Once it says it is ready it is waited for again when it is full.
  stuckNow = false;
  t.equal(fanOut.ready(), null, 'ready: no wait');
  stuckNow = true;
  const wait = fanOut.ready();
  t.not(wait, null, 'full again after being ready: waited for');
  await wait;
  t.match(stuckSlot.stats, { readyWaits: 2, readyTimeouts: 2 });
});

t.test('backpressure: a sink without ready(), a ready() that throws or rejects, and a closed sink never hold the drain', async (t) => {
  const diagnostics = new Diagnostics({ logger: silentLogger });
  const make = (name: string, sink: TraceSink) => new SinkSlot(name, TargetFilter.parse('info'), sink, 1, diagnostics);
  t.equal(make('a', new RecordingSink()).ready(), null, 'no ready(): never waited for');
  t.equal(make('b', { consume() {}, flush() {}, ready: () => undefined }).ready(), null, 'undefined is ready');
  t.equal(make('c', { consume() {}, flush() {}, ready: () => { throw new Error('boom'); } }).ready(), null, 'a throw is ready, and reported');
  const rejecting = make('d', { consume() {}, flush() {}, ready: () => Promise.reject(new Error('nope')) });
  await rejecting.ready();
  t.match(rejecting.stats, { readyWaits: 1, readyTimeouts: 0 }, 'a rejection ends the wait');
  const closed = make('e', { consume() {}, flush() {}, ready: never });
  await closed.close();
  t.equal(closed.ready(), null, 'a closed sink is not waited for');
  t.match(diagnostics.pending.map((r) => [r.message, r.fields]), [['sink ready failed', { sink: 'c', error: /boom/ }], ['sink ready failed', { sink: 'd', error: /nope/ }]]);
});
