/**
 * End to end, with the real piscina worker: wrap-around, whole records,
 * accounting under overload with the drop notice, a throwing sink, dynamic
 * sinks, shutdown, flush(), and every invalid option.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { DispatcherStateError, FilterSyntaxError, SinkError, TraceDispatcher, type DispatcherStats, type MemorySinkContents } from '../src/index.js';
import type { IdWords } from '../src/encoder/record-encoder.js';
import { payloadFor, type CountingSummary } from './fixtures/counting-sink.js';
import { spanStartOf } from './fixtures/span-start.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const COUNTING = fixture('counting-sink.ts');
const KIB64 = 64 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'ringtrace-dispatcher-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const IDS: IdWords = { t0: 1, t1: 2, t2: 3, t3: 4, s0: 5, s1: 6 };

/** Producer identity, worker identity and each named sink's identity. */
function checkAccounting(t: Test, stats: DispatcherStats, sinks: string[]): void {
  t.equal(stats.offered, stats.written + stats.dropped + stats.oversize, 'offered == written + dropped + oversize');
  t.equal(stats.decoded, stats.written, 'decoded == written');
  for (const name of sinks) {
    const s = stats.sinks.find((x) => x.name === name);
    t.ok(s, `${name} in stats`);
    t.equal(s!.delivered + s!.filtered + s!.failed, stats.decoded, `${name}: delivered + filtered + failed == decoded`);
  }
}

const summary = (file: string): CountingSummary => JSON.parse(readFileSync(file, 'utf8')) as CountingSummary;

t.test('ring wrap-around with the real worker: thousands of wraps, every record whole and in order', async (t) => {
  const file = join(dir, 'wrap.json');
  const d = await TraceDispatcher.start({
    queueCapacity: KIB64,
    sinks: [{ name: 'seq', module: COUNTING, filter: 'trace', options: { file, checkGaps: true } }],
  });
  const log = d.logger('wrap');
  const n = 140_000;
  for (let seq = 0; seq < n; seq++) {
    // Wait for room rather than drop (this test is about order and wholeness),
    // then write a batch again: the worker drains while the producer waits.
    if (d.writer.usedBytes > KIB64 - 4096) while (d.writer.usedBytes > KIB64 / 4) await nextTurn();
    log.info('r', { seq, payload: payloadFor(seq) });
  }
  const wraps = d.writer.writePosition / KIB64;
  const stats = await d.shutdown();
  t.ok(wraps >= 2000, `wrapped ${Math.floor(wraps)} times`);
  t.equal(stats.dropped, 0);
  t.equal(stats.written, n);
  checkAccounting(t, stats, ['seq']);
  const s = summary(file);
  t.equal(s.sequenced, n, 'every record reached the sink');
  t.equal(s.firstSeq, 0);
  t.equal(s.lastSeq, n - 1);
  t.equal(s.outOfOrder, 0, 'in order, no gaps');
  t.equal(s.torn, 0, 'every payload whole');
  t.ok(s.closed);
});

t.test('accounting under overload: 1,000,000 events into a 64 KiB ring', async (t) => {
  const allFile = join(dir, 'overload-all.json');
  const quietFile = join(dir, 'overload-quiet.json');
  const d = await TraceDispatcher.start({
    queueCapacity: KIB64,
    flushIntervalMs: 20,
    sinks: [
      { name: 'all', module: COUNTING, filter: 'trace', options: { file: allFile } },
      // Wants nothing but the dispatcher's own errors: every ring record is filtered.
      { name: 'quiet', module: COUNTING, filter: 'off,ringtrace=error', options: { file: quietFile } },
    ],
  });
  const log = d.logger('load');
  const n = 1_000_000;
  for (let seq = 0; seq < n; seq++) log.info('tick', { seq, k: 'v' });
  const producer = d.producerStats();
  t.equal(producer.offered, n, 'every event was offered');
  t.ok(producer.dropped > 0, `the ring overflowed: ${producer.dropped} dropped`);
  await d.flush();
  const mid = await d.stats();
  t.equal(mid.decoded, mid.written, 'after flush() decoded == written');
  const stats = await d.shutdown();
  checkAccounting(t, stats, ['all', 'quiet']);
  t.equal(stats.offered, n);
  t.equal(stats.oversize, 0);
  t.equal(stats.droppedReported, stats.dropped, 'the worker reported every drop');
  const all = summary(allFile);
  const quiet = summary(quietFile);
  t.equal(all.sequenced, stats.written, 'the sink got every written record');
  t.equal(all.outOfOrder, 0);
  t.ok(all.dropNotices >= 1);
  t.equal(all.droppedNoticed, stats.dropped, 'drop notices sum to the drops');
  t.equal(all.oversizeNoticed, 0);
  t.match(all.firstNotice, {
    level: 'error',
    target: 'ringtrace',
    message: 'records dropped: queue full',
    fields: { dropped_count: Number, oversize_count: 0 },
  });
  const firstCount = all.firstNotice?.fields['dropped_count'] as number;
  t.ok(firstCount > 0 && firstCount <= stats.dropped, `the first notice counts some of the drops (${firstCount} of ${stats.dropped})`);
  t.ok(all.dropNotices === 1 ? firstCount === stats.dropped : firstCount < stats.dropped, 'the first notice has all drops only when it is the only one');
  t.equal(quiet.records, quiet.dropNotices, 'the quiet sink got only the notices');
  t.equal(quiet.droppedNoticed, stats.dropped);
  const q = stats.sinks.find((s) => s.name === 'quiet')!;
  t.equal(q.filtered, stats.decoded);
  t.equal(q.diagnostics, quiet.dropNotices, 'notices are counted apart from ring records');
});

t.test('a throwing sink is counted and reported and does not disturb another sink', async (t) => {
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'thrower', module: fixture('throwing-sink.ts'), filter: 'trace' },
      { name: 'counter', module: COUNTING, filter: 'trace' },
      { name: 'mem', sink: 'memory', filter: 'info' },
    ],
  });
  const log = d.logger('app');
  for (let seq = 0; seq < 100; seq++) log.info('e', { seq });
  await d.flush();
  const stats = await d.stats();
  const thrower = stats.sinks.find((s) => s.name === 'thrower')!;
  const counter = stats.sinks.find((s) => s.name === 'counter')!;
  t.equal(thrower.failed, 100, 'each failed consume counted');
  t.equal(thrower.delivered, 0);
  t.ok(thrower.flushFailures >= 1, 'failed flushes counted');
  t.equal(counter.delivered, 100);
  t.equal(counter.failed, 0);
  checkAccounting(t, stats, ['thrower', 'counter', 'mem']);
  const c = await d.inspectSink<CountingSummary>('counter');
  t.equal(c.sequenced, 100);
  t.ok(c.diagnostics.includes('sink consume failed'), 'the failure reaches the other sinks as a ringtrace event');
  const { records } = await d.inspectSink<MemorySinkContents>('mem');
  const diag = records.find((r) => r.kind === 'event' && r.target === 'ringtrace');
  t.match(diag, { level: 'error', fields: { sink: 'thrower' } });
  await t.rejects(d.inspectSink('thrower'), SinkError, 'a sink without inspect()');
  const final = await d.shutdown();
  checkAccounting(t, final, ['thrower', 'counter', 'mem']);
  t.ok(final.sinks.every((s) => s.closed), 'every sink closed, the one whose close rejects too');
});

t.test('addSink and removeSink at run time', async (t) => {
  const bFile = join(dir, 'dynamic-b.json');
  const d = await TraceDispatcher.start({ sinks: [{ name: 'a', module: COUNTING, filter: 'warn,svc=trace' }] });
  const log = d.logger('other');
  t.notOk(log.isEnabled('info'), 'the level hint follows the sinks');

  // A span opens before sink b exists.
  t.ok(d.encoder.spanStart(spanStartOf({ handle: 1, startTime: 0, ids: IDS, parent: null, parentRemote: false, traceFlags: 1, spanKind: 0, level: 3, name: 'op', target: 'svc', traceState: '', attributes: { x: 1 }, maxAttributes: 128 })));
  await d.flush();
  await d.addSink({ name: 'b', module: COUNTING, filter: 'trace', options: { file: bFile } });
  t.ok(log.isEnabled('info'), 'a new sink widens the hint');
  d.encoder.spanAttribute(1, 'y', 2);
  d.encoder.spanEnd({ handle: 1, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 });
  log.info('after add', { seq: 0 });
  await d.flush();
  const a = await d.inspectSink<CountingSummary>('a');
  const b = await d.inspectSink<CountingSummary>('b');
  t.same(a.kinds, { spanStart: 1, spanAttributes: 1, spanEnd: 1 }, 'a got the whole span and not the info event');
  t.same(b.kinds, { event: 1 }, 'b did not get half of a span that began before it');

  const removed = await d.removeSink('b');
  t.equal(removed.name, 'b');
  t.ok(removed.closed, 'removal closes the sink');
  t.ok(removed.flushes >= 1, 'and flushes it');
  t.equal(removed.delivered, 1);
  t.equal(removed.filtered, 2, 'the span records b never had the start of');
  const bSummary = summary(bFile);
  t.ok(bSummary.closed);
  t.equal(bSummary.events, 1);
  t.notOk(log.isEnabled('info'), 'removal narrows the hint again');
  await t.rejects(d.removeSink('b'), SinkError);
  await t.rejects(d.inspectSink('b'), SinkError);
  await t.rejects(d.addSink({ name: 'a', sink: 'memory' }), SinkError, 'a duplicate name');
  await t.rejects(d.addSink({ name: 'c', sink: 'memory', filter: 'loud' }), FilterSyntaxError);

  // Every way a sink can fail to load, through addSink: a SinkError naming it, the dispatcher unharmed.
  const failures: [string, URL, RegExp][] = [
    ['missing', fixture('does-not-exist.ts'), /cannot load module/],
    ['throws', fixture('factory-throws-sink.ts'), /factory failed: cannot construct this sink/],
    ['nodefault', fixture('no-default-sink.ts'), /no default export factory/],
    ['notsink', fixture('not-a-sink.ts'), /did not return a sink/],
  ];
  for (const [name, module, message] of failures) {
    const err = (await d.addSink({ name, module }).then(
      () => undefined,
      (e: unknown) => e,
    )) as SinkError;
    t.ok(err instanceof SinkError, `${name}: SinkError`);
    t.equal(err.sinkName, name);
    t.match(err.message, message);
    t.match(err.message, JSON.stringify(name));
  }
  await d.addSink({ name: 'missing', sink: 'memory' });
  t.ok((await d.stats()).sinks.some((s) => s.name === 'missing'), 'a failed name is free to use');
  const stats = await d.shutdown();
  checkAccounting(t, stats, ['a']);
});

t.test('shutdown delivers everything written before it, then refuses', async (t) => {
  const file = join(dir, 'shutdown.ndjson');
  const d = await TraceDispatcher.start({ sinks: [{ name: 'out', sink: 'ndjson', filter: 'info', options: { destination: file } }] });
  const log = d.logger('stop');
  const n = 20_000;
  for (let seq = 0; seq < n; seq++) log.info('before', { seq });
  const done = d.shutdown();
  log.info('after shutdown was called', { seq: n });
  const stats = await done;
  t.equal(d.shutdown(), done, 'shutdown twice returns the same promise');
  t.equal(stats.written, n);
  t.equal(stats.offered, n, 'an event after shutdown() is not recorded');
  checkAccounting(t, stats, ['out']);
  t.ok(stats.sinks[0]!.closed);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  t.equal(lines.length, n, 'every record written before shutdown reached the file');
  t.equal(JSON.parse(lines[n - 1]!).fields.seq, n - 1);
  await t.rejects(d.flush(), DispatcherStateError);
  await t.rejects(d.stats(), DispatcherStateError);
  await t.rejects(d.addSink({ name: 'late', sink: 'memory' }), DispatcherStateError);
});

t.test('flush() resolves after everything before it is delivered and every sink flush settled', async (t) => {
  const d = await TraceDispatcher.start({
    flushIntervalMs: 60_000, // no periodic flush: only flush() and idle flushes
    flushEveryRecords: 1_000_000,
    sinks: [
      { name: 'slow', module: fixture('slow-flush-sink.ts'), filter: 'trace' },
      { name: 'mem', sink: 'memory', filter: 'trace' },
    ],
  });
  const log = d.logger('f');
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 500; i++) log.debug('x', { i });
    await d.flush();
    const slow = await d.inspectSink<{ consumed: number; written: number; flushes: number }>('slow');
    t.equal(slow.consumed, 500 * round, `round ${round}: every record before flush() was consumed`);
    t.equal(slow.written, 500 * round, `round ${round}: and a flush that began after them has settled`);
    const mem = await d.inspectSink<MemorySinkContents>('mem');
    t.equal(mem.records.length, 500 * round);
    t.ok(mem.flushes >= round);
  }
  await d.flush(); // nothing new: resolves too
  checkAccounting(t, await d.shutdown(), ['slow', 'mem']);
});

t.test('every invalid option of start() is a clear error naming the option and value', async (t) => {
  const cases: [unknown, ErrorConstructor | typeof FilterSyntaxError, RegExp][] = [
    [null, TypeError, /option options must be an object, got null/],
    ['x', TypeError, /option options must be an object/],
    [{ queueCapacity: 100_000 }, RangeError, /option queueCapacity must be a power of two .* got 100000/],
    [{ queueCapacity: 32 * 1024 }, RangeError, /queueCapacity.*got 32768/],
    [{ queueCapacity: 2 ** 31 }, RangeError, /queueCapacity.*got 2147483648/],
    [{ queueCapacity: 65536.5 }, RangeError, /queueCapacity.*got 65536.5/],
    [{ queueCapacity: '65536' }, TypeError, /queueCapacity must be a number of bytes, got "65536"/],
    [{ flushIntervalMs: 0 }, RangeError, /flushIntervalMs must be a positive finite number, got 0/],
    [{ flushIntervalMs: -5 }, RangeError, /flushIntervalMs.*got -5/],
    [{ flushIntervalMs: NaN }, RangeError, /flushIntervalMs.*got NaN/],
    [{ flushIntervalMs: Infinity }, RangeError, /flushIntervalMs.*got Infinity/],
    [{ flushIntervalMs: '100' }, TypeError, /flushIntervalMs must be a number, got "100"/],
    [{ flushEveryRecords: 0 }, RangeError, /flushEveryRecords must be an integer >= 1, got 0/],
    [{ flushEveryRecords: 2.5 }, RangeError, /flushEveryRecords.*got 2.5/],
    [{ maxStringLength: 8 }, RangeError, /maxStringLength must be an integer >= 16, got 8/],
    [{ maxArrayLength: 0 }, RangeError, /maxArrayLength must be an integer >= 1, got 0/],
    [{ maxArrayLength: '8' }, TypeError, /maxArrayLength must be an integer, got "8"/],
    [{ maxInternedStrings: -1 }, RangeError, /maxInternedStrings.*got -1/],
    [{ maxOpenSpans: 0 }, RangeError, /maxOpenSpans.*got 0/],
    [{ sinkTimeoutMs: -1 }, RangeError, /sinkTimeoutMs.*got -1/],
    [{ sinks: {} }, TypeError, /option sinks must be an array of sink specs, got \{\}/],
    [{ sinks: [null] }, TypeError, /option sinks\[0\] must be a sink spec object, got null/],
    [{ sinks: [{ sink: 'memory' }] }, TypeError, /option sinks\[0\]\.name must be a non-empty string, got undefined/],
    [{ sinks: [{ name: '', sink: 'memory' }] }, TypeError, /sinks\[0\]\.name.*got ""/],
    [{ sinks: [{ name: 'm', sink: 'memory', filter: 3 }] }, TypeError, /sinks\[0\]\.filter must be a filter directive string, got 3/],
    [{ sinks: [{ name: 'm', sink: 'memory', filter: 'info,db=loud' }] }, FilterSyntaxError, /"db=loud"/],
    [{ sinks: [{ name: 'm' }] }, TypeError, /sinks\[0\] must be a spec with exactly one of `sink` or `module`/],
    [{ sinks: [{ name: 'm', sink: 'memory', module: './x.js' }] }, TypeError, /exactly one of/],
    [{ sinks: [{ name: 'm', sink: 'kafka' }] }, RangeError, /option sinks\[0\]\.sink must be one of .*memory.*, got "kafka"/],
    [{ sinks: [{ name: 'm', module: 42 }] }, TypeError, /sinks\[0\]\.module must be a path, URL or package name, got 42/],
    [{ sinks: [{ name: 'm', module: '' }] }, TypeError, /sinks\[0\]\.module.*got ""/],
    [
      { sinks: [{ name: 'dup', sink: 'memory' }, { name: 'dup', sink: 'memory' }] },
      RangeError,
      /option sinks must be sink specs with unique names, got "dup"/,
    ],
  ];
  for (const [options, type, message] of cases) {
    const err = await TraceDispatcher.start(options as never).then(
      async (d) => {
        await d.shutdown();
        return undefined;
      },
      (e: unknown) => e,
    );
    t.ok(err instanceof type, `${String(message)}: ${type.name}`);
    t.match((err as Error | undefined)?.message, message);
    t.equal((err as { code?: string } | undefined)?.code, type === FilterSyntaxError ? 'RINGTRACE_FILTER_SYNTAX' : 'RINGTRACE_INVALID_OPTION', `${String(message)}: its code`);
  }
});

t.test('maxArrayLength reaches the encoder: array values are cut there', async (t) => {
  const d = await TraceDispatcher.start({ maxArrayLength: 3, sinks: [{ name: 'm', sink: 'memory', filter: 'trace' }] });
  d.logger('app').info('arrays', { list: [1, 2, 3, 4, 5] });
  await d.flush();
  const { records } = await d.inspectSink<{ records: { kind: string; fields: Record<string, unknown> }[] }>('m');
  t.same(records.find((r) => r.kind === 'event')?.fields['list'], [1, 2, 3]);
  t.equal(d.options.maxArrayLength, 3);
  await d.shutdown();
});

t.test('a sink that fails to load or construct makes start() reject with a SinkError naming it', async (t) => {
  for (const [name, module, message] of [
    ['ghost', fixture('does-not-exist.ts'), /cannot load module/],
    ['broken', fixture('factory-throws-sink.ts'), /factory failed: cannot construct this sink/],
  ] as const) {
    const err = (await TraceDispatcher.start({ sinks: [{ name: 'fine', sink: 'memory' }, { name, module }] }).then(
      () => undefined,
      (e: unknown) => e,
    )) as SinkError;
    t.ok(err instanceof SinkError, name);
    t.equal(err.sinkName, name);
    t.match(err.message, `sink "${name}"`);
    t.match(err.message, message);
  }
});

t.test('the worker prefaults the whole ring soon after start (stats().prefaultedBytes)', async (t) => {
  const queueCapacity = 1024 * 1024;
  const d = await TraceDispatcher.start({ queueCapacity, sinks: [{ name: 'm', sink: 'memory' }] });
  let stats = await d.stats();
  for (let i = 0; i < 500 && stats.prefaultedBytes < queueCapacity; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    stats = await d.stats();
  }
  t.equal(stats.prefaultedBytes, queueCapacity);
  t.equal(stats.queueCapacity, queueCapacity);
  await d.shutdown();
});
