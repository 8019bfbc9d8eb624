/**
 * The drain loop with several rings, in-process: the fairness bound (a
 * flooded ring gives at most one budget per pass), a decoder per ring (the
 * same string id means different strings in two rings), the thread on each
 * record, per-ring drop notices and counts, and a ring ended and dropped.
 */
import t from 'tap';
import { RecordDecoder } from '../src/decoder/record-decoder.js';
import { RingReader } from '../src/ring/ring-reader.js';
import type { EventRecord } from '../src/record/trace-record.js';
import { RecordingSink, loopParts, producer } from './fixtures/worker-harness.js';

function attached(p: ReturnType<typeof loopParts>, id: number, name: string, capacity?: number) {
  const other = producer(capacity);
  const reader = new RingReader(other.ring);
  const decoder = new RecordDecoder(reader.bytes, { thread: Object.freeze({ id, name }) });
  p.loop.addRing(reader, decoder, decoder.thread!);
  return other;
}

t.test('a flooded ring gives at most one budget per pass; the other ring is read whole in the same pass', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('all', 'trace', sink);
  const flood = attached(p, 7, 'flood', 1024 * 1024);
  for (let i = 0; i < 5000; i++) flood.event('flood', { i }, 'flood');
  for (let i = 0; i < 5; i++) p.event('main', { i }, 'main');
  const BUDGET = 100;
  p.loop.drainBatch(BUDGET);
  const got = sink.records as EventRecord[];
  t.equal(got.filter((r) => r.target === 'main').length, 5, 'every record of the quiet ring in the first pass');
  t.ok(got.filter((r) => r.target === 'flood').length <= BUDGET, 'at most one budget from the flooded ring');
  t.equal(p.loop.ringCount, 2);
});

t.test('a decoder per ring: strings interned in each ring apart, each record names its thread', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('all', 'trace', sink);
  const a = attached(p, 3, 'a');
  // The first string each producer interns gets id 0 in both rings.
  p.event('from main', {}, 'target-main');
  a.event('from a', {}, 'target-a');
  p.loop.drainBatch(100);
  const got = sink.records as EventRecord[];
  // (The harness's main decoder is made without a thread; the worker's names it 'main', see threads-attach.test.ts.)
  t.same(got.map((r) => [r.target, r.thread?.name, r.thread?.id]).sort(), [['target-a', 'a', 3], ['target-main', undefined, undefined]]);
});

t.test('drops are counted and noticed per ring; an ended ring is drained to the end, then dropped', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('all', 'trace', sink);
  const a = attached(p, 5, 'small');
  let written = 0;
  while (a.event('fill', { pad: 'x'.repeat(200) }, 'small')) written++;
  // The write that found the ring full was the first drop.
  for (let i = 0; i < 9; i++) a.event('dropped', {}, 'small');
  p.loop.checkDrops(true);
  const notice = (sink.records as EventRecord[]).find((r) => r.target === 'ringtrace' && r.message.startsWith('records dropped'));
  t.equal(notice?.fields['dropped_count'], 10, 'the drop notice counts the ring\'s drops');
  t.equal(notice?.fields['thread_name'], 'small', 'and names its thread');
  let stats = p.loop.stats();
  const small = stats.threads.find((x) => x.threadId === 5)!;
  t.equal(small.dropped, 10);
  t.equal(small.written, written);
  t.equal(stats.threads.find((x) => x.threadId === 0)!.dropped, 0, 'the main ring dropped nothing');
  const ended = p.loop.endRing(5);
  while (p.loop.drainBatch(64) !== 0);
  const final = await ended;
  t.equal(final?.decoded, written, 'the ended ring was drained to its end');
  t.equal(p.loop.ringCount, 1, 'and dropped');
  stats = p.loop.stats();
  t.equal(stats.endedRings, 1);
  t.equal(stats.attached.written, written, 'its counts stay in the totals');
  t.equal(stats.attached.dropped, 10);
  t.equal(stats.decoded, written);
  t.equal(await p.loop.endRing(5), undefined, 'ending it again: nothing to do');
});

t.test('backpressure across rings: a pass stops at the next ring once a sink says it is full', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  // Full once it holds 100 records, ready again when the test says so.
  let release: (() => void) | null = null;
  const gate = new Promise<void>((r) => (release = r));
  const full = Object.assign(sink, { ready: () => (sink.records.length >= 100 && release !== null ? gate : null) });
  p.add('all', 'trace', full);
  const rings = [p, attached(p, 2, 'b'), attached(p, 3, 'c')];
  rings.forEach((r, n) => {
    for (let i = 0; i < 150; i++) r.event('e', { i }, `ring${n}`);
  });
  const byRing = () => [0, 1, 2].map((n) => (sink.records as EventRecord[]).filter((r) => r.target === `ring${n}`).length);
  p.loop.drainBatch(1000, true);
  t.same(byRing().filter((c) => c > 0), [150], 'one ring read whole, then the full sink stopped the pass');
  p.loop.drainBatch(1000);
  t.same(byRing(), [150, 150, 150], 'without stopWhenFull the pass reads every other ring');
  release!();
  release = null;
});
