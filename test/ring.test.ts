import t from 'tap';
import { KIND_EVENT, KIND_PAD, RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET } from '../src/record/format.js';
import {
  CACHE_LINE_BYTES,
  CONSUMER_RUNNING,
  CONSUMER_SLEEPING,
  CONSUMER_STATE,
  DEFAULT_CAPACITY,
  DROPPED,
  DROPPED_REPORTED,
  HEADER_BYTES,
  MIN_CAPACITY,
  OVERSIZE,
  OVERSIZE_REPORTED,
  READ_INDEX,
  WRITE_INDEX,
  allocateRing,
  ringCapacity,
  widen,
} from '../src/ring/layout.js';
import { PAGE_BYTES, RingReader } from '../src/ring/ring-reader.js';
import { defaultWakeThreshold, RingWriter } from '../src/ring/ring-writer.js';
import { cannotCountPageFaults, threadFaults } from './fixtures/page-faults.js';

/** A record of `size` bytes (multiple of 8, >= 16) carrying `seq` and a fill byte. */
function record(size: number, seq: number): Uint8Array {
  const r = new Uint8Array(size);
  const v = new DataView(r.buffer);
  v.setUint32(RECORD_SIZE_OFFSET, size, true);
  r[RECORD_KIND_OFFSET] = KIND_EVENT;
  v.setUint32(8, seq, true);
  r.fill(seq & 0xff, 12);
  return r;
}

/** Read every whole record the writer has published, checking each one; returns their seqs. */
function drain(reader: RingReader, pads: { n: number } = { n: 0 }): number[] {
  const seqs: number[] = [];
  const end = reader.available();
  let pos = reader.position;
  while (pos < end) {
    const off = pos & reader.mask;
    const size = reader.view.getUint32(off + RECORD_SIZE_OFFSET, true);
    if (reader.bytes[off + RECORD_KIND_OFFSET] === KIND_PAD) {
      if (off + size !== reader.capacity) throw new Error(`PAD at ${off} of ${size} does not reach the end`);
      pads.n++;
      pos += size;
      continue;
    }
    if (off + size > reader.capacity) throw new Error(`record at ${off} of ${size} crosses the end`);
    const seq = reader.view.getUint32(off + 8, true);
    for (let i = 12; i < size; i++) if (reader.bytes[off + i] !== (seq & 0xff)) throw new Error(`record ${seq} is torn at byte ${i}`);
    seqs.push(seq);
    pos += size;
  }
  reader.release(pos);
  return seqs;
}

function seeded(capacity: number, position: number): SharedArrayBuffer {
  const sab = allocateRing(capacity);
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  Atomics.store(header, WRITE_INDEX, position | 0);
  Atomics.store(header, READ_INDEX, position | 0);
  return sab;
}

t.test('layout: each writer has its own cache line, capacity as allocated', async (t) => {
  const line = (slot: number) => Math.floor((slot * 4) / CACHE_LINE_BYTES);
  t.not(line(WRITE_INDEX), line(READ_INDEX));
  t.not(line(WRITE_INDEX), line(DROPPED));
  t.not(line(READ_INDEX), line(DROPPED));
  t.not(line(CONSUMER_STATE), line(WRITE_INDEX));
  t.not(line(CONSUMER_STATE), line(READ_INDEX));
  t.not(line(CONSUMER_STATE), line(DROPPED));
  t.equal(line(OVERSIZE), line(DROPPED), 'both producer drop counts on the producer line');
  t.equal(line(DROPPED_REPORTED), line(CONSUMER_STATE));
  t.equal(line(OVERSIZE_REPORTED), line(CONSUMER_STATE));
  t.equal(ringCapacity(allocateRing(MIN_CAPACITY)), MIN_CAPACITY);
  t.ok(DEFAULT_CAPACITY / 160 >= 100_000, 'default holds 100,000 records of 160 bytes');
  t.equal(widen(5, 2 ** 32 - 3), 2 ** 32 + 5);
  t.equal(widen(-1, 2 ** 32 + 1), 2 ** 32 - 1);
  t.equal(widen(0x7fffffff | 0, 2 ** 31 - 8), 2 ** 31 - 1);
  t.equal(widen((2 ** 31 + 8) | 0, 2 ** 31 - 8), 2 ** 31 + 8);
});

t.test('wrap-around leaves a PAD marker at the end and keeps every record whole and in order', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const pads = { n: 0 };
  const seen: number[] = [];
  let seq = 0;
  // Sizes that do not divide the capacity, so reservations straddle the end.
  const sizes = [24, 40, 1000, 8 * 377, 16, 4096 + 8];
  let failed = 0;
  for (let round = 0; round < 2000; round++) {
    for (let k = 0; k < 7; k++) {
      const size = sizes[(round + k) % sizes.length]!;
      if (!writer.write(record(size, seq), size)) failed++;
      seq++;
    }
    seen.push(...drain(reader, pads));
  }
  t.equal(failed, 0, 'every write fit');
  t.equal(seen.length, seq);
  t.same(seen, Array.from({ length: seq }, (_, i) => i), 'every record, in order');
  t.ok(pads.n > 100, `wrapped ${pads.n} times with a PAD marker`);
  t.same(writer.counts(), { offered: seq, written: seq, dropped: 0, oversize: 0, refused: 0 });
  t.equal(writer.usedBytes, 0);
});

t.test('a reservation of two parts is one record stream, published at once', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const a = record(32, 1);
  const b = record(48, 2);
  const big = new Uint8Array(200);
  big.set(b);
  t.ok(writer.write(a, 32, big, 48), 'second part taken by length from a larger buffer');
  t.equal(reader.available() - reader.position, 80);
  t.same(drain(reader), [1, 2]);
  const c = new Uint8Array(64);
  c.set(record(24, 3));
  t.ok(writer.write(c, 24, undefined, 0), 'first part taken by length');
  t.ok(writer.write(record(24, 4), 24, new Uint8Array(0), 0), 'an empty second part');
  t.same(drain(reader), [3, 4]);
});

// The header holds the low 32 bits; a writer and reader made on a ring in use
// take their positions from it, which puts them right before each boundary.
for (const start of [2 ** 31 - 4096, 2 ** 32 - 4096]) {
  t.test(`indexes keep growing past ${start + 4096} (resumed from the header)`, async (t) => {
    const sab = seeded(MIN_CAPACITY, start);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    t.equal(writer.writePosition % 2 ** 32, start % 2 ** 32);
    let seq = 0;
    let failed = 0;
    const seen: number[] = [];
    for (let i = 0; i < 400; i++) {
      if (!writer.write(record(1016, seq), 1016)) failed++;
      seq++;
      if (i % 3 === 0) seen.push(...drain(reader));
    }
    seen.push(...drain(reader));
    t.equal(failed, 0, 'every write fit');
    t.same(seen, Array.from({ length: seq }, (_, i) => i));
    t.ok(writer.writePosition > start + 4096 + 300_000, 'the writer position went past the boundary');
    t.equal(reader.available(), reader.position, 'reader caught up exactly');
    t.equal(writer.usedBytes, 0, 'the writer sees the reader caught up across the boundary');
  });
}

t.test('indexes grow past 2^32 by writing: 4 GiB through a 64 KiB ring', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const size = MIN_CAPACITY / 4; // 16 KiB
  const recs = [record(size, 0), record(size, 1)];
  const total = 2 ** 32 / size + 64;
  let last = -1;
  let ok = true;
  for (let i = 0; i < total; i++) {
    recs[i & 1]!.fill(i & 0xff, 12);
    new DataView(recs[i & 1]!.buffer).setUint32(8, i, true);
    if (!writer.write(recs[i & 1]!, size)) ok = false;
    if ((i & 1) === 1) {
      // Check only the header of each record here; bytes are checked by the other tests.
      const end = reader.available();
      let pos = reader.position;
      while (pos < end) {
        const seq = reader.view.getUint32((pos & reader.mask) + 8, true);
        if (seq !== last + 1) ok = false;
        last = seq;
        pos += size;
      }
      reader.release(pos);
    }
  }
  t.ok(ok, 'every write fit and every record came out in order');
  t.equal(last, total - 1);
  t.ok(writer.writePosition > 2 ** 32, `write position ${writer.writePosition}`);
  t.equal(reader.position, writer.writePosition);
  t.equal(writer.usedBytes, 0);
});

t.test('a full ring drops and counts, never overwrites; offered == written + dropped + oversize', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  let seq = 0;
  let written = 0;
  while (writer.write(record(1000, seq), 1000)) {
    seq++;
    written++;
  }
  t.equal(written, Math.floor(MIN_CAPACITY / 1000));
  let accepted = 0;
  for (let i = 0; i < 50; i++) if (writer.write(record(1000, 999), 1000)) accepted++;
  t.equal(accepted, 0, 'nothing is accepted while full');
  t.notOk(writer.write(record(MIN_CAPACITY / 2 + 8, 7), MIN_CAPACITY / 2 + 8), 'oversize');
  const c = writer.counts();
  t.equal(c.offered, c.written + c.dropped + c.oversize);
  t.equal(c.oversize, 1);
  t.equal(c.dropped, 51);
  t.equal(c.written, written);
  // The drop channel is readable while the ring is still full.
  t.same(reader.takeDrops(), { dropped: c.dropped, oversize: 1 });
  t.equal(reader.takeDrops(), null, 'each drop is reported once');
  t.notOk(writer.write(record(1000, 999), 1000), 'still full');
  t.same(reader.takeDrops(), { dropped: 1, oversize: 0 }, 'a new drop is seen while the ring stays full');
  const seqs = drain(reader);
  t.same(seqs.slice(0, written), Array.from({ length: written }, (_, i) => i), 'the records that fit are intact');
  t.ok(writer.write(record(1000, 1), 1000), 'room again after the reader releases');
  const d = writer.counts();
  t.equal(d.offered, d.written + d.dropped + d.oversize);
});

t.test('oversize: a reservation larger than half the ring is counted apart', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  t.equal(writer.maxReservation, MIN_CAPACITY / 2);
  t.ok(writer.write(record(MIN_CAPACITY / 2, 1), MIN_CAPACITY / 2), 'exactly half fits');
  t.notOk(writer.write(record(24, 1), MIN_CAPACITY / 4, record(MIN_CAPACITY / 4 + 8, 2), MIN_CAPACITY / 4 + 8), 'two parts over half');
  t.same(writer.counts(), { offered: 2, written: 1, dropped: 0, oversize: 1, refused: 0 });
  t.same(reader.takeDrops(), { dropped: 0, oversize: 1 });
  writer.countOversize();
  writer.countDrop();
  t.same(writer.counts(), { offered: 4, written: 1, dropped: 1, oversize: 2, refused: 0 });
  t.same(reader.takeDrops(), { dropped: 1, oversize: 1 });
});

t.test('a new reader resumes where the last one stopped and does not report old drops again', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const first = new RingReader(sab);
  writer.write(record(16, 1), 16);
  writer.countDrop();
  t.same(drain(first), [1]);
  t.same(first.takeDrops(), { dropped: 1, oversize: 0 });
  writer.write(record(16, 2), 16);
  const second = new RingReader(sab);
  t.equal(second.takeDrops(), null);
  t.same(drain(second), [2]);
  const writer2 = new RingWriter(sab);
  t.equal(writer2.writePosition, writer.writePosition, 'a new writer resumes too');
});

t.test('drop counters that wrap at 2^32 still give the right difference', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  Atomics.store(header, DROPPED, -2); // 2^32 - 2 as published
  Atomics.store(header, DROPPED_REPORTED, -2);
  const reader = new RingReader(sab);
  Atomics.store(header, DROPPED, 3); // three more past the wrap... and two: 5
  t.same(reader.takeDrops(), { dropped: 5, oversize: 0 });
});

t.test('sleep/wake: a sleeper is woken only once the wake threshold is reached', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  t.equal(writer.wakeThresholdBytes, Math.max(1024, MIN_CAPACITY / 8), 'default: 1/8 of the ring, at least 1 KiB');
  t.same([1024, 4096, 2 ** 20, 2 ** 24, 2 ** 27].map(defaultWakeThreshold), [1024, 1024, 2 ** 17, 2 ** 20, 2 ** 20], 'between 1 KiB and 1 MiB');
  const seen = reader.prepareSleep()!;
  const slept = reader.sleep(seen, 60_000);
  writer.write(record(16, 1), 16);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_SLEEPING, 'one small record does not wake it');
  let n = 1;
  while (writer.usedBytes < writer.wakeThresholdBytes - 16) writer.write(record(16, ++n), 16);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_SLEEPING, 'still asleep just below the threshold');
  writer.write(record(16, ++n), 16);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_RUNNING, 'the write that reaches the threshold wakes it');
  await slept; // would hang for a minute if no notify came
  t.equal(drain(reader).length, n);
});

t.test('sleep/wake: a consumer that falls asleep while the writer is writing is woken at the threshold, not later', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  // The writer sees the consumer running (it looks at most once per threshold's worth of bytes while it runs)...
  let n = 0;
  for (let i = 0; i < 20; i++) writer.write(record(16, ++n), 16);
  t.equal(drain(reader).length, 20);
  // ...then it drains everything and sleeps, between two of the writer's looks.
  const sleptAt = reader.position;
  const seen = reader.prepareSleep()!;
  const slept = reader.sleep(seen, 60_000);
  while (writer.writePosition - sleptAt < writer.wakeThresholdBytes - 16) writer.write(record(16, ++n), 16);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_SLEEPING, 'asleep one record below the threshold');
  writer.write(record(16, ++n), 16);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_RUNNING, 'the write that reaches the threshold wakes it');
  await slept;
  t.equal(drain(reader).length, n - 20);
});

t.test('sleep/wake: prepareSleep returns null when data arrived, the writer wakes a sleeper', async (t) => {
  const sab = allocateRing(MIN_CAPACITY);
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const writer = new RingWriter(sab, { wakeThresholdBytes: 0 });
  const reader = new RingReader(sab);

  writer.write(record(16, 1), 16);
  t.equal(reader.prepareSleep(), null, 'data waiting: no sleep');
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_RUNNING, 'and the state is back to running');
  drain(reader);

  writer.countDrop();
  t.equal(reader.prepareSleep(), null, 'a drop waiting: no sleep either');
  reader.takeDrops();

  const seen = reader.prepareSleep();
  t.type(seen, 'number');
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_SLEEPING);
  const slept = reader.sleep(seen!, 60_000);
  writer.write(record(16, 2), 16);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_RUNNING, 'the writer flips the state when it wakes');
  await slept; // would hang for a minute if no notify came
  t.same(drain(reader), [2]);

  const seen2 = reader.prepareSleep();
  t.type(seen2, 'number');
  // A waitAsync timeout does not keep Node's event loop alive by itself (the
  // worker's open control port does that); hold it open here meanwhile.
  const keepAlive = setInterval(() => {}, 1000);
  await reader.sleep(seen2!, 5); // nothing arrives: the timeout ends the sleep
  clearInterval(keepAlive);
  t.equal(Atomics.load(header, CONSUMER_STATE), CONSUMER_RUNNING);

  const seen3 = reader.prepareSleep()!;
  writer.write(record(16, 3), 16);
  await reader.sleep(seen3, 60_000); // the value moved before the wait began: returns at once
  t.same(drain(reader), [3]);

  const seen4 = reader.prepareSleep()!;
  const slept4 = reader.sleep(seen4, 60_000);
  writer.countOversize();
  await slept4;
  t.same(reader.takeDrops(), { dropped: 0, oversize: 1 }, 'a drop wakes the sleeper too');
});


/** Page faults taken writing the whole data region once, in 64 KiB records. */
function faultsFillingRing(sab: SharedArrayBuffer): number {
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const chunk = record(64 * 1024, 7);
  const before = threadFaults()!;
  for (let written = 0; written < writer.capacity; written += chunk.length) {
    if (!writer.write(chunk, chunk.length)) throw new Error('the ring refused a record');
    reader.release(reader.available());
  }
  return threadFaults()! - before;
}

t.test('prefault: the producer writes a prefaulted ring without a page fault', { skip: cannotCountPageFaults() }, async (t) => {
  // Above glibc's largest mmap threshold (32 MiB), so every ring here is fresh mmap'd memory,
  // not heap memory calloc already zeroed (and so faulted) when the buffer was made.
  const capacity = 64 * 1024 * 1024;
  const pages = capacity / PAGE_BYTES;
  const fresh = faultsFillingRing(allocateRing(capacity));
  t.ok(fresh >= pages / 2, `a fresh ring faults as it is first written (${fresh} faults for ${pages} pages)`);

  const sab = allocateRing(capacity);
  const reader = new RingReader(sab);
  // In two parts and out of order, as the drain loop's steps may be.
  reader.prefault(capacity / 2 + 100, capacity);
  reader.prefault(0, capacity / 2 + 100);
  const after = faultsFillingRing(sab);
  t.ok(after < pages / 50, `a prefaulted ring does not (${after} faults)`);
});

t.test('prefault writes nothing: records written before and while it runs stay whole', async (t) => {
  const sab = allocateRing(64 * 1024);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  for (let seq = 0; seq < 100; seq++) writer.write(record(256, seq), 256);
  reader.prefault(0, reader.capacity);
  t.same(drain(reader), Array.from({ length: 100 }, (_, i) => i));
});
