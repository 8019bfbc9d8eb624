/**
 * DrainLoop and FanOut in this process: decode once and fan out by filter,
 * whole spans per sink (orphans, sinks added or removed mid-span, bit reuse),
 * flush cadence (every N records, every interval, when idle), sleep and wake,
 * drop notices at most once per interval (fake clock), the exit handshake,
 * wrap-around padding, prefaulting the ring's pages.
 */
import t from 'tap';
import { TargetFilter } from '../src/filter/target-filter.js';
import type { EventRecord, TraceRecord } from '../src/record/trace-record.js';
import { KIND_PAD, RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET } from '../src/record/format.js';
import { CONSUMER_SLEEPING, CONSUMER_STATE, EXIT_ACK, EXIT_REQUEST, HEADER_BYTES, READ_INDEX, WRITE_INDEX, allocateRing } from '../src/ring/layout.js';
import { RecordDecoder } from '../src/decoder/record-decoder.js';
import { RingReader } from '../src/ring/ring-reader.js';
import { RingWriter } from '../src/ring/ring-writer.js';
import { Diagnostics } from '../workers/diagnostics.js';
import { DrainLoop, PREFAULT_STEP_BYTES } from '../workers/drain-loop.js';
import { FanOut, MAX_SINKS } from '../workers/fan-out.js';
import createSlowFlushSink from './fixtures/slow-flush-sink.js';
import { FakeClock, IDS, RecordingSink, loopParts, silentLogger, until } from './fixtures/worker-harness.js';
import { cannotCountPageFaults, threadFaults } from './fixtures/page-faults.js';
import { spanStartOf } from './fixtures/span-start.js';

const INFO = 3;
const kinds = (records: TraceRecord[]) => records.map((r) => r.kind);

function spanStart(p: ReturnType<typeof loopParts>, handle: number, target = 'svc', level = INFO): boolean {
  return p.encoder.spanStart(spanStartOf({ handle: handle, startTime: 0, ids: IDS, parent: null, parentRemote: false, traceFlags: 1, spanKind: 0, level: level, name: `op${handle}`, target: target, traceState: '', attributes: undefined, maxAttributes: 128 }));
}

t.test('each record is decoded once and offered to every sink by its filter', async (t) => {
  const p = loopParts();
  const all = new RecordingSink();
  const warn = new RecordingSink();
  const db = new RecordingSink();
  p.add('all', 'trace', all);
  p.add('warn', 'warn', warn);
  p.add('db', 'off,db=debug', db);
  p.event('a', { n: 1 }, 'app', INFO);
  p.event('b', undefined, 'db.pool', 2);
  p.event('c', undefined, 'app', 5);
  t.ok(p.loop.drainBatch(100) >= 3, 'records and the string definitions riding with them');
  t.same(all.messages(), ['a', 'b', 'c']);
  t.same(warn.messages(), ['c']);
  t.same(db.messages(), ['b']);
  t.same(
    p.fanOut.stats().map((s) => [s.name, s.delivered, s.filtered, s.failed]),
    [
      ['all', 3, 0, 0],
      ['warn', 1, 2, 0],
      ['db', 1, 2, 0],
    ],
  );
  t.equal(p.loop.stats().decoded, 3, 'string definitions are not counted');
  t.equal(p.reader.decodedSoFar(), 3, 'the count is published with the release');
  t.equal(p.loop.drainBatch(100), 0, 'nothing left');
});

t.test('drainBatch takes at most `limit` records', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  for (let i = 0; i < 10; i++) p.event(`e${i}`);
  const batches: number[] = [];
  for (let n = p.loop.drainBatch(4); n !== 0; n = p.loop.drainBatch(4)) batches.push(n);
  t.ok(batches.length >= 3, 'several batches');
  t.ok(batches.every((n) => n <= 4), 'none larger than the limit');
  t.equal(sink.records.length, 10);
  t.ok(p.loop.stats().queueHighWaterBytes > 0);
});

t.test('a sink gets whole spans only: the bit set at span start decides later records', async (t) => {
  const p = loopParts();
  const svc = new RecordingSink();
  const warn = new RecordingSink();
  p.add('svc', 'off,svc=info', svc);
  p.add('warn', 'warn', warn);
  t.ok(spanStart(p, 1));
  t.ok(p.encoder.spanAttribute(1, 'k', 'v'));
  t.ok(p.encoder.spanEvent(1, 1, 'ev', undefined, 128));
  p.loop.drainBatch(100);
  const late = new RecordingSink();
  p.add('late', 'trace', late);
  t.ok(p.encoder.spanStatus(1, 2, 'boom'));
  t.ok(p.encoder.spanEnd({ handle: 1, endTime: 2, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  p.loop.drainBatch(100);
  t.same(kinds(svc.records), ['spanStart', 'spanAttributes', 'spanEvent', 'spanStatus', 'spanEnd']);
  t.same(warn.records, [], 'an info span is filtered, start to end, by a warn sink');
  t.same(late.records, [], 'a sink added mid-span sees none of it');
  t.match(p.fanOut.stats(), [
    { name: 'svc', delivered: 5, filtered: 0 },
    { name: 'warn', delivered: 0, filtered: 5 },
    { name: 'late', delivered: 0, filtered: 2 },
  ]);
});

t.test('span records whose start was dropped or evicted are filtered for every sink', async (t) => {
  const p = loopParts({ maxOpenSpans: 1 });
  const a = new RecordingSink();
  const b = new RecordingSink();
  p.add('a', 'trace', a);
  p.add('b', 'info', b);
  // Fill the ring so the span start is dropped, then drain it.
  let filled = 0;
  while (p.event('filler', { pad: 'x'.repeat(200) })) filled++;
  t.notOk(spanStart(p, 7), 'the span start is dropped: ring full');
  p.loop.drainBatch(1_000_000);
  t.ok(p.encoder.spanAttribute(7, 'k', 1));
  t.ok(p.encoder.spanEnd({ handle: 7, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  // Evicted: with room for one open span, a second start evicts the first.
  t.ok(spanStart(p, 8));
  t.ok(spanStart(p, 9));
  t.ok(p.encoder.spanEnd({ handle: 8, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  t.ok(p.encoder.spanEnd({ handle: 9, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  p.loop.drainBatch(1_000_000);
  const stats = p.loop.stats();
  t.equal(stats.orphaned, 3, 'two records of the dropped span, the end of the evicted one');
  t.equal(stats.evictedSpans, 1);
  t.equal(stats.openSpans, 0);
  t.equal(stats.decoded, filled + 6);
  for (const sink of [a, b]) {
    t.same(kinds(sink.records.filter((r) => r.kind !== 'event')), ['spanStart', 'spanStart', 'spanEnd'], 'only the spans whose start arrived');
  }
  for (const s of p.fanOut.stats()) t.equal(s.delivered + s.filtered + s.failed, stats.decoded, `${s.name}: delivered + filtered + failed == decoded`);
});

t.test("a removed sink's bit is cleared from open spans before it is reused", async (t) => {
  const p = loopParts();
  const first = new RecordingSink();
  const keeper = new RecordingSink();
  const firstSlot = p.add('first', 'trace', first);
  p.add('keeper', 'trace', keeper);
  t.ok(spanStart(p, 1));
  p.loop.drainBatch(10);
  t.equal(p.fanOut.remove('first'), firstSlot);
  t.equal(p.fanOut.remove('first'), undefined, 'already gone');
  const reused = new RecordingSink();
  const reusedSlot = p.add('reused', 'trace', reused);
  t.equal(reusedSlot.bit, firstSlot.bit, 'the freed bit is handed out again');
  t.ok(p.encoder.spanEnd({ handle: 1, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  p.loop.drainBatch(10);
  t.same(kinds(keeper.records), ['spanStart', 'spanEnd']);
  t.same(reused.records, [], 'the new owner of the bit does not inherit the old sink’s span');
  t.same(kinds(first.records), ['spanStart']);
});

t.test(`FanOut holds at most ${MAX_SINKS} sinks and refuses duplicate names`, async (t) => {
  const p = loopParts();
  const bits = new Set<number>();
  for (let i = 0; i < MAX_SINKS; i++) bits.add(p.add(`s${i}`).bit);
  t.equal(bits.size, MAX_SINKS, 'one distinct bit each');
  t.throws(() => p.add('extra'), RangeError);
  t.throws(() => p.add('s3'), /already registered/);
  p.fanOut.remove('s30');
  t.equal(p.add('extra').bit, 1 << 30);
});

t.test('flush every flushEveryRecords, checked after each batch', async (t) => {
  const clock = new FakeClock();
  const p = loopParts({ flushEveryRecords: 10, batchRecords: 5, now: clock.now });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  for (let i = 0; i < 25; i++) p.event(`e${i}`);
  const run = p.loop.run();
  await until(() => p.loop.stats().decoded === 25 && sink.flushes === 3, 'three flushes');
  // 10 and 20 records (flushEveryRecords), then the idle flush for the last 5.
  t.equal(sink.flushes, 3);
  p.loop.stop();
  await run;
  t.equal(sink.flushes, 3, 'no flush without new records');
});

t.test('flush every flushIntervalMs when records keep coming', async (t) => {
  const clock = new FakeClock();
  const p = loopParts({ flushIntervalMs: 100, batchRecords: 1, now: clock.now });
  // Intern the target, message and key first, so each batch below is exactly one record.
  p.event('e', { seq: -1 });
  p.loop.drainBatch(10);
  const sink = new RecordingSink();
  const flushedAt: number[] = [];
  sink.flush = () => void flushedAt.push(sink.records.length);
  const consume = sink.consume.bind(sink);
  sink.consume = (r) => {
    consume(r);
    clock.advance(40); // each record "takes" 40 ms
  };
  p.add('s', 'trace', sink);
  for (let i = 0; i < 8; i++) p.event('e', { seq: i });
  const run = p.loop.run();
  await until(() => p.loop.stats().decoded === 9 && flushedAt.at(-1) === 8, 'all flushed');
  p.loop.stop();
  await run;
  // 120 ms after the last flush at records 3 and 6; the idle flush after the last 2.
  t.same(flushedAt, [3, 6, 8]);
});

t.test('idle flush once the ring is empty, then sleep until a write wakes the loop', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  p.event('first');
  const run = p.loop.run();
  await until(() => sink.flushes === 1, 'the idle flush');
  t.equal(sink.records.length, 1);
  const header = new Int32Array(p.ring, 0, HEADER_BYTES / 4);
  await until(() => Atomics.load(header, CONSUMER_STATE) === CONSUMER_SLEEPING, 'the loop to sleep');
  // The sleep's timeout is a minute. A small write stays off the wake-up path...
  p.event('second');
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  t.equal(sink.records.length, 1, 'a write below the wake threshold leaves the loop asleep');
  // ...until an eighth of the ring waits: then the writer's notify wakes it.
  let n = 1;
  while (p.writer.writePosition - p.reader.position < p.writer.wakeThresholdBytes) t.ok(p.event('more', { n: n++ }), 'written', { diagnostic: false });
  await until(() => sink.records.length === n + 1, 'the writes to be delivered');
  t.same(sink.messages().slice(0, 3), ['first', 'second', 'more']);
  await until(() => sink.flushes === 2, 'the idle flush after them');
  t.equal(p.reader.flushedSoFar(), n + 1, 'a completed flush round marks what it covered');
  p.loop.stop();
  await run;
});

t.test('a sleeping loop wakes by itself every flush interval', async (t) => {
  const p = loopParts({ flushIntervalMs: 10 });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  const run = p.loop.run();
  const header = new Int32Array(p.ring, 0, HEADER_BYTES / 4);
  await until(() => Atomics.load(header, CONSUMER_STATE) === CONSUMER_SLEEPING, 'the loop to sleep');
  p.event('small');
  await until(() => sink.records.length === 1, 'the timed wake to deliver it');
  t.same(sink.messages(), ['small'], 'delivered though no write reached the wake threshold');
  p.loop.stop();
  await run;
});

t.test('with nothing written, the loop still flushes every interval (a metrics export rides on it)', async (t) => {
  const p = loopParts({ flushIntervalMs: 10 });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  const run = p.loop.run();
  await until(() => sink.flushes >= 3, 'periodic flushes with no records');
  t.equal(sink.records.length, 0);
  p.loop.stop();
  await run;
});

t.test('a write made during the idle flush is drained before the loop sleeps', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  let wrote = false;
  sink.flush = () => {
    sink.flushes++;
    // A sink that logs through the same dispatcher while flushing.
    if (!wrote) wrote = p.event('written by flush');
  };
  p.add('s', 'trace', sink);
  p.event('first');
  const run = p.loop.run();
  await until(() => sink.records.length === 2 && sink.flushes === 2, 'the second record and its flush');
  t.same(sink.messages(), ['first', 'written by flush']);
  p.loop.stop();
  await run;
});

t.test('reach() waits across batches until its position is delivered', async (t) => {
  const p = loopParts({ batchRecords: 1 });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  for (let i = 0; i < 5; i++) p.event('e', { i });
  const reached = p.loop.reach(p.writer.writePosition);
  const run = p.loop.run();
  await reached;
  t.equal(sink.records.length, 5);
  p.loop.stop();
  await run;
});

t.test('reach() resolves once the loop has delivered up to a position', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  await p.loop.reach(0);
  const run = p.loop.run();
  await until(() => Atomics.load(new Int32Array(p.ring, 0, HEADER_BYTES / 4), CONSUMER_STATE) === CONSUMER_SLEEPING, 'sleep');
  p.event('x');
  const a = p.loop.reach(p.writer.writePosition);
  p.event('y');
  const b = p.loop.reach(p.writer.writePosition);
  await Promise.all([a, b]);
  t.same(sink.messages(), ['x', 'y']);
  p.loop.stop();
  await run;
});

t.test('a periodic flush leaves a sink that is still flushing alone', async (t) => {
  const p = loopParts({ flushEveryRecords: 1, batchRecords: 1 });
  const slow = createSlowFlushSink();
  const fast = new RecordingSink();
  p.add('slow', 'trace', slow);
  p.add('fast', 'trace', fast);
  for (let i = 0; i < 5; i++) p.event(`e${i}`);
  const run = p.loop.run();
  await until(() => p.loop.stats().decoded === 5, 'drained');
  t.equal(slow.inspect().flushes, 0, 'the first slow flush is still pending');
  t.ok(fast.flushes >= 2, 'the idle sink was flushed on the following batches');
  t.equal(p.reader.flushedSoFar(), 0, 'no complete round yet');
  t.ok(fast.flushes > slow.inspect().flushes + 1, 'periodic flushes of the slow sink did not queue up');
  p.loop.stop();
  await run;
  await p.fanOut.flushAll();
  t.equal(slow.inspect().written, 5);
});

t.test('drop notices: at most one per flush interval, the rest summed into the next', async (t) => {
  const clock = new FakeClock();
  const p = loopParts({ flushIntervalMs: 100, now: clock.now });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  p.add('quiet', 'off', new RecordingSink());
  p.loop.checkDrops();
  t.same(sink.records, [], 'no drops, no notice');
  p.writer.countDrop();
  p.writer.countDrop();
  p.loop.checkDrops();
  p.writer.countDrop();
  p.writer.countOversize();
  clock.advance(99);
  p.loop.checkDrops();
  t.equal(sink.records.length, 1, 'the second notice waits for the interval');
  clock.advance(1);
  p.loop.checkDrops();
  p.writer.countOversize();
  clock.advance(500);
  p.loop.checkDrops();
  const notices = sink.records as EventRecord[];
  t.same(
    notices.map((n) => [n.level, n.target, n.message, { ...n.fields }]),
    [
      ['error', 'ringtrace', 'records dropped: queue full', { dropped_count: 2, oversize_count: 0 }],
      ['error', 'ringtrace', 'records dropped: queue full', { dropped_count: 1, oversize_count: 1 }],
      ['error', 'ringtrace', 'records dropped: too large for the queue', { dropped_count: 0, oversize_count: 1 }],
    ],
  );
  p.writer.countDrop();
  p.loop.checkDrops();
  t.equal(sink.records.length, 3, 'withheld within the interval');
  p.loop.finalNotice();
  t.equal(sink.records.length, 4, 'the final notice goes out regardless');
  t.match(p.loop.stats(), { dropNotices: 4, droppedReported: 4, oversizeReported: 2 });
  t.match(p.fanOut.stats(), [{ name: 's', diagnostics: 4, delivered: 0 }, { name: 'quiet', diagnostics: 0 }]);
});

t.test('a withheld drop notice goes out when its interval is up, without a new write', async (t) => {
  const p = loopParts({ flushIntervalMs: 30 });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  const run = p.loop.run();
  p.writer.countDrop();
  await until(() => sink.records.length === 1, 'the first notice');
  p.writer.countDrop();
  p.writer.countDrop();
  // The loop sleeps no longer than the rest of the interval, then delivers.
  await until(() => sink.records.length === 2, 'the second notice');
  t.same(
    (sink.records as EventRecord[]).map((r) => r.fields['dropped_count']),
    [1, 2],
  );
  p.loop.stop();
  await run;
});

t.test('exit handshake: drain to the end, final notice, flush every sink, acknowledge', async (t) => {
  const clock = new FakeClock();
  const p = loopParts({ flushIntervalMs: 100, batchRecords: 3, now: clock.now, withExit: true });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  const header = new Int32Array(p.ring, 0, HEADER_BYTES / 4);
  const run = p.loop.run();
  p.writer.countDrop();
  await until(() => sink.records.length === 1, 'first notice');
  p.writer.countDrop();
  for (let i = 0; i < 10; i++) p.event(`e${i}`);
  // What ExitHandshake.request() does, without blocking this (the only) thread.
  Atomics.store(header, EXIT_REQUEST, 1);
  Atomics.notify(header, 0);
  await until(() => Atomics.load(header, EXIT_ACK) === 1, 'the acknowledgement');
  t.equal(sink.records.filter((r) => r.kind === 'event' && r.target === 'app').length, 10, 'everything written was delivered');
  t.equal(sink.records.filter((r) => r.kind === 'event' && r.target === 'ringtrace').length, 2, 'the pending notice was forced out');
  t.ok(sink.flushes >= 1);
  t.equal(p.reader.flushedSoFar(), 10);
  p.loop.stop();
  await run;
});

t.test('wrap-around: padding is skipped, records stay whole and in order', async (t) => {
  const p = loopParts();
  let seen = 0;
  let bad = 0;
  p.add('s', 'trace', {
    consume(r: TraceRecord) {
      if (r.kind !== 'event' || r.fields['seq'] !== seen || r.fields['pad'] !== 'p'.repeat(seen % 300)) bad++;
      seen++;
    },
    flush() {},
  });
  let written = 0;
  while (written < 5000) {
    while (written < 5000 && p.event('w', { seq: written, pad: 'p'.repeat(written % 300) })) written++;
    p.loop.drainBatch(1_000_000);
  }
  t.equal(seen, 5000);
  t.equal(bad, 0);
  t.ok(p.writer.writePosition > 10 * p.reader.capacity, 'wrapped many times');
  t.equal(p.loop.stats().decoded, 5000);
});

t.test('a loop on a ring an earlier worker drained continues its decoded count', async (t) => {
  const first = loopParts();
  first.add('s');
  first.event('a');
  first.event('b');
  first.loop.drainBatch(10);
  // The respawned worker's parts, seeded with the producer's interned strings.
  const reader = new RingReader(first.ring);
  const decoder = new RecordDecoder(reader.bytes, { strings: first.encoder.strings.snapshot() });
  const fanOut = new FanOut(decoder, first.diagnostics);
  const sink = new RecordingSink();
  fanOut.add('s', TargetFilter.parse('trace'), sink);
  const loop = new DrainLoop(reader, decoder, fanOut, first.diagnostics, { flushIntervalMs: 100, flushEveryRecords: 10 });
  t.equal(loop.stats().decoded, 2);
  first.event('c');
  loop.drainBatch(10);
  t.equal(loop.stats().decoded, 3);
  t.same(sink.messages(), ['c']);
});

t.test('a record size the encoder never writes (0, misaligned, past the end) is skipped to the next sound record, counted and reported, never spun on', async (t) => {
  for (const bad of [0, 12, 1 << 20]) {
    const p = loopParts();
    const sink = new RecordingSink();
    p.add('s', 'trace', sink);
    // The target's string definition travels with the first event: drain that one first.
    p.event('zero');
    p.loop.drainBatch(100);
    sink.records.length = 0;
    const at = p.writer.writePosition;
    p.event('first');
    const firstSize = p.writer.writePosition - at;
    p.event('second');
    // Corrupt the first record's size field in place.
    new DataView(p.ring, HEADER_BYTES).setUint32(at, bad, true);
    p.loop.drainBatch(100);
    t.equal(p.reader.position, p.reader.available(), `size ${bad}: everything published is released`);
    t.same(sink.messages().filter((m) => !m.startsWith('records skipped')), ['second'], `size ${bad}: the record after the damage arrives`);
    const notice = (sink.records as EventRecord[]).find((r) => r.target === 'ringtrace');
    t.match(notice, { level: 'error', target: 'ringtrace', message: /records skipped/ }, `size ${bad}: reported`);
    t.match({ ...notice!.fields }, { corrupt_count: 0, corrupt_bytes: firstSize, reason: `unsound record framing at offset ${at}` });
    t.match(p.loop.stats(), { decoded: 2, corrupt: 0, corruptBytes: firstSize });
    p.event('after');
    p.loop.drainBatch(100);
    t.same(sink.messages().at(-1), 'after', `size ${bad}: the next record decodes`);
  }
});

t.test('prefault: a chunk per step, just ahead of the producer, until the whole ring is done', { skip: cannotCountPageFaults() }, async (t) => {
  // 64 MiB: above glibc's largest mmap threshold, so the pages are fresh (see ring.test.ts).
  const capacity = 64 * 1024 * 1024;
  const ring = allocateRing(capacity);
  // A ring in use: the producer mid-ring, 4104 bytes into a chunk (63 pages of it left).
  const start = capacity / 2 + 4104;
  const header = new Int32Array(ring, 0, HEADER_BYTES / 4);
  Atomics.store(header, WRITE_INDEX, start);
  Atomics.store(header, READ_INDEX, start);
  const reader = new RingReader(ring);
  const writer = new RingWriter(ring);
  const decoder = new RecordDecoder(reader.bytes);
  const diagnostics = new Diagnostics({ logger: silentLogger });
  const loop = new DrainLoop(reader, decoder, new FanOut(decoder, diagnostics), diagnostics, { flushIntervalMs: 60_000, flushEveryRecords: 1000 });
  const pad = (bytes: number) => {
    const r = new Uint8Array(bytes);
    new DataView(r.buffer).setUint32(RECORD_SIZE_OFFSET, bytes, true);
    r[RECORD_KIND_OFFSET] = KIND_PAD;
    return r;
  };
  const big = pad(64 * 1024);
  /** Page faults taken writing `bytes` at the write position, in records of at most 64 KiB (made before counting: fresh buffers fault too). */
  const faultsWriting = (bytes: number) => {
    const last = pad(bytes % big.length || big.length);
    const before = threadFaults()!;
    for (let left = bytes; left > 0; left -= big.length) {
      const r = left < big.length ? last : big;
      if (!writer.write(r, r.length)) throw new Error('the ring refused a record');
      reader.release(reader.available());
    }
    return threadFaults()! - before;
  };

  t.equal(loop.stats().prefaultedBytes, 0);
  t.equal(loop.prefaultStep(), true);
  t.equal(loop.stats().prefaultedBytes, PREFAULT_STEP_BYTES, 'one chunk per step');
  const rest = faultsWriting(PREFAULT_STEP_BYTES - 4104);
  t.ok(rest >= 32, `the chunk the producer is in was left alone (${rest} faults writing the rest of it)`);
  t.ok(faultsWriting(PREFAULT_STEP_BYTES) < 4, 'the next one was done');
  let steps = 1;
  while (loop.prefaultStep()) steps++;
  t.equal(steps, capacity / PREFAULT_STEP_BYTES, 'each chunk once');
  t.equal(loop.stats().prefaultedBytes, capacity);
  t.equal(loop.prefaultStep(), false, 'done for good');
  const faults = faultsWriting(capacity);
  t.ok(faults < 16, `writing the whole ring (${capacity / 4096} pages) took ${faults} page faults`);
});

t.test('prefault: run() does it while the ring is idle, then sleeps as before', async (t) => {
  const p = loopParts({ capacity: 4 * PREFAULT_STEP_BYTES });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  p.event('first');
  const run = p.loop.run();
  await until(() => p.loop.stats().prefaultedBytes === 4 * PREFAULT_STEP_BYTES, 'the whole ring prefaulted');
  const header = new Int32Array(p.ring, 0, HEADER_BYTES / 4);
  await until(() => Atomics.load(header, CONSUMER_STATE) === CONSUMER_SLEEPING, 'the loop asleep');
  t.equal(sink.records.length, 1, 'the record written before was delivered');
  p.loop.stop();
  await run;
});
