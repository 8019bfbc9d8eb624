import t from 'tap';
import * as F from '../src/record/format.js';
import { ORPHAN, RecordDecoder, keepSpanIdBytes, pinoLineToEvent } from '../src/decoder/record-decoder.js';
import { DecodedSpanInfo } from '../src/decoder/decoded-span-info.js';
import { pinoLevel } from '../src/filter/levels.js';
import { RecordEncoder, TRUNCATION_MARKER, type IdWords } from '../src/encoder/record-encoder.js';
import { MAX_INTERNED_LENGTH, StringTable } from '../src/encoder/string-table.js';
import type { EventRecord, Fields, SpanInfo, TraceRecord } from '../src/record/trace-record.js';
import { allocateRing, MIN_CAPACITY } from '../src/ring/layout.js';
import { RingReader } from '../src/ring/ring-reader.js';
import { RingWriter } from '../src/ring/ring-writer.js';
import { readRing, ringKinds } from './fixtures/ring-records.js';
import { spanStartOf } from './fixtures/span-start.js';
import * as S from '../src/record/schema.js';
import { RecordWalker } from '../src/ring/framing.js';

const IDS: IdWords = { t0: 0x0af76519, t1: 0x16cd43dd, t2: 0x8448eb21, t3: 0x1c80319c, s0: 0xb7ad6b71, s1: 0x69203331 };
const TRACE_HEX = '0af7651916cd43dd8448eb211c80319c';
const SPAN_HEX = 'b7ad6b7169203331';
const PARENT: IdWords = { t0: 0, t1: 0, t2: 0, t3: 0, s0: 0x00f067aa, s1: 0x0ba902b7 };

/** No prototype, or one empty, frozen object with none: nothing to inherit (see src/record/fields.ts). */
function inheritsNothing(o: object): boolean {
  const proto: object | null = Object.getPrototypeOf(o) as object | null;
  return proto === null || (Object.getPrototypeOf(proto) === null && Reflect.ownKeys(proto).length === 0 && Object.isFrozen(proto));
}

function pipeline(options: { capacity?: number; strings?: StringTable; maxStringLength?: number; maxArrayLength?: number; maxOpenSpans?: number } = {}) {
  const sab = allocateRing(options.capacity ?? MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const encoder = new RecordEncoder(writer, options);
  const decoder = new RecordDecoder(reader.bytes, { maxOpenSpans: options.maxOpenSpans });
  /** Every record in the ring, kinds included (string definitions as 'def'). */
  const read = (): (TraceRecord | typeof ORPHAN)[] => readRing(reader, decoder);
  /** Kinds of the records in the ring, not consumed. */
  const kinds = (): number[] => ringKinds(reader);
  const fieldsOf = (fields: object | undefined, enc = encoder): Fields => {
    if (!enc.event(3, 1, 'values', '', fields, null)) throw new Error('event not written');
    const [r] = read();
    return (r as EventRecord).fields;
  };
  return { sab, writer, reader, encoder, decoder, read, kinds, fieldsOf };
}

t.test('event round trip, with and without the active span ids', async (t) => {
  const p = pipeline();
  const time = 1_700_000_000_123.456;
  t.ok(p.encoder.event(4, time, 'checkout', 'charged', { amount: 12 }, null));
  t.ok(p.encoder.event(5, time + 1, 'checkout', 'failed', undefined, IDS));
  const [a, b] = p.read() as EventRecord[];
  t.same({ ...a, fields: { ...a!.fields } }, { kind: 'event', time, level: 'warn', target: 'checkout', message: 'charged', fields: { amount: 12 }, traceId: undefined, spanId: undefined });
  t.ok(inheritsNothing(a!.fields), 'fields inherit nothing');
  t.equal(b!.level, 'error');
  t.equal(b!.traceId, TRACE_HEX);
  t.equal(b!.spanId, SPAN_HEX);
  t.same({ ...b!.fields }, {});
  t.equal(b!.time, time + 1);
});

t.test('every span record kind round trips and carries its span', async (t) => {
  const p = pipeline();
  t.ok(p.encoder.spanStart(spanStartOf({ handle: 7, startTime: 100.5, ids: IDS, parent: PARENT, parentRemote: true, traceFlags: 1, spanKind: 2, level: 2, name: 'GET /cart', target: 'http', traceState: 'k=v', attributes: { 'http.method': 'GET', n: 3 }, maxAttributes: 128 })));
  t.ok(p.encoder.spanAttributes(7, { a: 1, b: 'x' }, 128));
  t.ok(p.encoder.spanAttribute(7, 'single', true));
  t.ok(p.encoder.spanEvent(7, 101.25, 'cache miss', { key: 'k1' }, 128));
  t.ok(p.encoder.spanLink(7, IDS, 0, { why: 'retry' }, 128));
  t.ok(p.encoder.spanStatus(7, 2, 'boom'));
  t.ok(p.encoder.spanName(7, 'GET /cart/:id'));
  t.ok(p.encoder.spanEnd({ handle: 7, endTime: 110.75, droppedAttributes: 1, droppedEvents: 2, droppedLinks: 3 }));
  t.ok(p.encoder.spanStart(spanStartOf({ handle: 8, startTime: 200, ids: IDS, parent: null, parentRemote: false, traceFlags: 0, spanKind: 0, level: 3, name: 'root', target: 'db', traceState: '', attributes: undefined, maxAttributes: 128 })));
  const recs = p.read() as TraceRecord[];
  t.same(
    recs.map((r) => r.kind),
    ['spanStart', 'spanAttributes', 'spanAttributes', 'spanEvent', 'spanLink', 'spanStatus', 'spanName', 'spanEnd', 'spanStart'],
  );
  const [start, attrs, attr, event, link, status, name, end, root] = recs as any[];
  const span = start.span;
  t.match(span, {
    traceId: TRACE_HEX,
    spanId: SPAN_HEX,
    parentSpanId: '00f067aa0ba902b7',
    parentIsRemote: true,
    traceFlags: 1,
    traceState: 'k=v',
    target: 'http',
    level: 'debug',
    spanKind: 2,
    startTime: 100.5,
  });
  t.equal(start.time, 100.5);
  t.same({ ...start.attributes }, { 'http.method': 'GET', n: 3 });
  for (const r of recs.slice(1, 8)) t.equal((r as any).span, span, `${r.kind} carries the same span`);
  t.same({ ...attrs.attributes }, { a: 1, b: 'x' });
  t.same({ ...attr.attributes }, { single: true });
  t.same([event.time, event.name, { ...event.attributes }], [101.25, 'cache miss', { key: 'k1' }]);
  t.same([link.traceId, link.spanId, link.traceFlags, { ...link.attributes }], [TRACE_HEX, SPAN_HEX, 0, { why: 'retry' }]);
  t.same([status.code, status.message], [2, 'boom']);
  t.equal(name.name, 'GET /cart/:id');
  t.equal(span.name, 'GET /cart/:id', 'updateName reaches the shared span info');
  t.same([end.time, end.droppedAttributesCount, end.droppedEventsCount, end.droppedLinksCount], [110.75, 1, 2, 3]);
  t.equal(root.span.parentSpanId, undefined);
  t.equal(root.span.parentIsRemote, false);
  t.equal(root.span.traceState, '');
  t.equal(root.span.level, 'info');
  t.equal(p.decoder.openSpans, 1, 'the ended span left the table');
  t.same([...p.decoder.spans()].map((e) => e.info.name), ['root']);
});

t.test('a span record whose start never arrived is an orphan', async (t) => {
  const p = pipeline();
  t.ok(p.encoder.spanEnd({ handle: 99, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  t.ok(p.encoder.spanName(99, 'x'));
  t.same(p.read(), [ORPHAN, ORPHAN]);
  t.equal(p.decoder.orphaned, 2);
  t.equal(p.decoder.lastSpan, undefined);
});

t.test('the open span table is bounded: the oldest is evicted and counted', async (t) => {
  const p = pipeline({ maxOpenSpans: 2 });
  for (const h of [1, 2, 3]) p.encoder.spanStart(spanStartOf({ handle: h, startTime: 0, ids: IDS, parent: null, parentRemote: false, traceFlags: 0, spanKind: 0, level: 3, name: `s${h}`, target: 't', traceState: '', attributes: undefined, maxAttributes: 128 }));
  p.encoder.spanEnd({ handle: 1, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 });
  p.encoder.spanEnd({ handle: 3, endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 });
  const recs = p.read();
  t.equal(recs[3], ORPHAN, 'span 1 was evicted');
  t.equal((recs[4] as TraceRecord).kind, 'spanEnd');
  t.equal(p.decoder.evictedSpans, 1);
  t.equal(p.decoder.openSpans, 1);
});

t.test('values: every type round trips', async (t) => {
  const p = pipeline();
  const f = p.fieldsOf({
    t: true,
    f: false,
    n: null,
    u: undefined,
    int: 42,
    neg: -7,
    zero: -0,
    float: 1.5,
    tiny: 5e-324,
    big: 2 ** 60,
    nan: NaN,
    inf: -Infinity,
    bi: 123456789012345678901234567890n,
    bneg: -5n,
    s: 'plain',
    empty: '',
    uni: 'héllo 中文 🚀',
    longUni: 'é'.repeat(100) + '🚀',
    lone: 'a\ud800b',
    loneLow: '\udc00',
    arr: [1, 2.5, 'x', true, null, 7n, undefined],
    nested: [[1, 2], { a: 1 }],
    sparse: [1, , 3],
  });
  t.same(
    { ...f },
    {
      t: true,
      f: false,
      n: null,
      u: null,
      int: 42,
      neg: -7,
      zero: -0,
      float: 1.5,
      tiny: 5e-324,
      big: 2 ** 60,
      nan: NaN,
      inf: -Infinity,
      bi: 123456789012345678901234567890n,
      bneg: -5n,
      s: 'plain',
      empty: '',
      uni: 'héllo 中文 🚀',
      longUni: 'é'.repeat(100) + '🚀',
      lone: 'a\ufffdb',
      loneLow: '\ufffd',
      arr: [1, 2.5, 'x', true, null, 7n, null],
      nested: ['[1,2]', '{"a":1}'],
      sparse: [1, null, 3],
    },
  );
  t.ok(Object.is(f['zero'], -0), '-0 stays -0');
  t.equal(typeof f['bi'], 'bigint');
});

t.test('short strings decode the same by hand as by Buffer: every length up to past the hand-decoded ones, ASCII or not', async (t) => {
  const p = pipeline();
  const values: string[] = [];
  for (let n = 0; n <= 10; n++) {
    values.push('abcdefghijk'.slice(0, n), '\u007f'.repeat(n), 'é'.repeat(Math.ceil(n / 2)), `${'x'.repeat(Math.max(0, n - 1))}\u0080`.slice(-Math.max(1, n)));
  }
  const f = p.fieldsOf(Object.fromEntries(values.map((v, i) => [`k${i}`, v])));
  t.same(Object.values(f), values);
});

t.test('integers and floats travel with distinct tags', async (t) => {
  const p = pipeline();
  const tagOf = (value: unknown): number => {
    p.encoder.event(3, 0, 'x'.repeat(MAX_INTERNED_LENGTH + 1), '', { k: value }, null); // inline target: no defs
    const off = p.reader.position & p.reader.mask;
    // header 8, time 8, target inline (1 + 4 + n), message inline (1 + 4), count 4, key (ref or inline)
    let q = off + 16 + 5 + MAX_INTERNED_LENGTH + 1 + 5 + 4;
    const keyTag = p.reader.bytes[q]!;
    q += keyTag === F.STR_REF ? 5 : 6;
    // skip a string definition for 'k' if it came first
    const tag = p.reader.bytes[q]!;
    p.read();
    return tag;
  };
  p.encoder.event(3, 0, 'warm', '', { k: 0 }, null); // define 'k' first
  p.read();
  t.equal(tagOf(3), F.VALUE_INT);
  t.equal(tagOf(-0), F.VALUE_INT);
  t.equal(tagOf(3.25), F.VALUE_FLOAT);
  t.equal(tagOf(NaN), F.VALUE_FLOAT);
  t.equal(tagOf(Infinity), F.VALUE_FLOAT);
  t.equal(tagOf(1n), F.VALUE_BIGINT);
  t.equal(tagOf({}), F.VALUE_OTHER);
  t.equal(tagOf([1]), F.VALUE_ARRAY);
});

t.test('anything else becomes a bounded, safe string; nothing throws into the caller', async (t) => {
  const p = pipeline({ maxStringLength: 200 });
  const cyclic: Record<string, unknown> = { name: 'c' };
  cyclic['self'] = cyclic;
  const throwingGetter = {
    get bad(): string {
      throw new Error('nope');
    },
    ok: 1,
  };
  const hostile = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('no keys');
      },
      get() {
        throw new Error('no get');
      },
    },
  );
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const f = p.fieldsOf({
    obj: { a: 1, b: [1, 2], c: { d: 'e' } },
    sym: Symbol('s'),
    fn: function named() {},
    anon: () => {},
    cyclic,
    nestedThrow: throwingGetter,
    hostile,
    revoked,
    date: new Date(0),
    err: new TypeError('bad'),
    huge: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key${i}`, 'v'.repeat(10)])),
  });
  t.equal(f['obj'], '{"a":1,"b":[1,2],"c":{"d":"e"}}');
  t.equal(f['sym'], 'Symbol(s)');
  t.equal(f['fn'], '[Function named]');
  t.equal(f['anon'], '[Function anon]');
  t.equal(f['cyclic'], '{"name":"c","self":[Circular]}');
  t.equal(f['nestedThrow'], '{"bad":[Throws],"ok":1}');
  t.type(f['hostile'], 'string');
  t.type(f['revoked'], 'string');
  t.equal(f['date'], '1970-01-01T00:00:00.000Z');
  t.equal(f['err'], 'TypeError: bad');
  t.ok((f['huge'] as string).length <= 200 + TRUNCATION_MARKER.length + 8, 'bounded by maxStringLength');

  const g = p.fieldsOf(throwingGetter);
  t.same({ ...g }, { bad: '[Throws]', ok: 1 }, 'a throwing getter in the fields themselves');
  const h = p.fieldsOf(hostile);
  t.same({ ...h }, {}, 'fields whose keys cannot be read: an empty field set, no throw');
  const r = p.fieldsOf(revoked);
  t.same({ ...r }, {});
  const arrProxy = new Proxy([1, 2, 3], {
    get(target, key) {
      if (key === '1') throw new Error('no');
      return Reflect.get(target, key);
    },
  });
  const a = p.fieldsOf({ arrProxy });
  t.type(a['arrProxy'], 'string', 'an array that throws mid-way becomes a safe string');
  const notObject = p.fieldsOf('a string' as unknown as object);
  t.same({ ...notObject }, {}, 'fields that are not an object are ignored');
});

t.test('attribute count limit cuts and counts', async (t) => {
  const p = pipeline();
  p.encoder.spanStart(spanStartOf({ handle: 1, startTime: 0, ids: IDS, parent: null, parentRemote: false, traceFlags: 0, spanKind: 0, level: 3, name: 's', target: 't', traceState: '', attributes: { a: 1, b: 2, c: 3, d: 4 }, maxAttributes: 2 }));
  t.equal(p.encoder.lastDroppedAttributes, 2);
  const inherited = Object.create({ fromProto: 1 }) as Record<string, number>;
  inherited['own'] = 2;
  p.encoder.spanAttributes(1, inherited, 10);
  t.equal(p.encoder.lastDroppedAttributes, 0);
  const [start, attrs] = p.read() as any[];
  t.same({ ...start.attributes }, { a: 1, b: 2 });
  t.same({ ...attrs.attributes }, { own: 2 }, 'only own properties');
});

t.test('arrays are cut at maxArrayLength', async (t) => {
  const p = pipeline({ maxArrayLength: 3 });
  t.same(p.fieldsOf({ a: [1, 2, 3, 4, 5] })['a'], [1, 2, 3]);
});

t.test('long strings are truncated with a marker', async (t) => {
  const p = pipeline({ maxStringLength: 16 });
  const f = p.fieldsOf({ s: 'x'.repeat(40), short: 'y'.repeat(16) });
  t.equal(f['s'], 'x'.repeat(16) + TRUNCATION_MARKER + '24]');
  t.equal(f['short'], 'y'.repeat(16), 'at the limit: untouched');
  p.encoder.event(3, 0, 't', 'm'.repeat(20), undefined, null);
  t.equal((p.read()[0] as EventRecord).message, 'm'.repeat(16) + TRUNCATION_MARKER + '4]');
});

t.test('__proto__ keys are ordinary fields', async (t) => {
  const p = pipeline();
  const fields = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "toString": "x"}') as object;
  const f = p.fieldsOf(fields);
  t.same(Object.keys(f), ['__proto__', 'constructor', 'toString']);
  t.equal(Object.getOwnPropertyDescriptor(f, '__proto__')!.value, '{"polluted":true}');
  t.ok(inheritsNothing(f));
  t.equal(f['toString'], 'x', 'an own value, not a method');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'nothing polluted');
});

t.test('interned strings are defined once, then referenced', async (t) => {
  const p = pipeline();
  p.encoder.event(3, 0, 'checkout', 'm', { amount: 1 }, null);
  t.same(p.kinds(), [F.KIND_STRING_DEF, F.KIND_STRING_DEF, F.KIND_EVENT], 'target and key defined in the same reservation');
  p.read();
  p.encoder.event(3, 0, 'checkout', 'm', { amount: 2 }, null);
  t.same(p.kinds(), [F.KIND_EVENT], 'then referenced');
  t.equal((p.read()[0] as EventRecord).target, 'checkout');
  p.encoder.event(3, 0, 'x', 'm', { x: 1 }, null);
  t.same(p.kinds(), [F.KIND_STRING_DEF, F.KIND_EVENT], 'a string used twice in one record is defined once');
  p.read();
  t.equal(p.decoder.stringCount, 3);
  const long = 'L'.repeat(MAX_INTERNED_LENGTH + 1);
  p.encoder.event(3, 0, long, 'm', undefined, null);
  t.same(p.kinds(), [F.KIND_EVENT], 'a long string is never interned');
  t.equal((p.read()[0] as EventRecord).target, long);
});

t.test('a dropped reservation leaves no dangling reference (rollback)', async (t) => {
  const p = pipeline();
  p.encoder.event(3, 0, 'filler', 'm', undefined, null);
  let written = 1;
  while (p.encoder.event(3, 0, 'filler', 'x'.repeat(200), undefined, null)) written++;
  t.notOk(p.encoder.event(3, 0, 'fresh.target', 'lost', { 'fresh.key': 1 }, null), 'the ring is full: dropped');
  t.equal(p.encoder.strings.lookup('fresh.target'), undefined, 'its definitions were rolled back');
  t.equal(p.encoder.strings.lookup('fresh.key'), undefined);
  t.equal(p.read().length, written);
  t.ok(p.encoder.event(3, 0, 'fresh.target', 'kept', { 'fresh.key': 2 }, null));
  const [r] = p.read() as EventRecord[];
  t.equal(r!.target, 'fresh.target', 'the string decodes after the drop');
  t.same({ ...r!.fields }, { 'fresh.key': 2 });
  // the filler that found the ring full, and the reservation carrying the definitions
  t.same(p.writer.counts(), { offered: written + 3, written: written + 1, dropped: 2, oversize: 0, refused: 0 });
});

t.test('past the table cap strings travel inline and still decode', async (t) => {
  const strings = new StringTable(2);
  const p = pipeline({ strings });
  for (let i = 0; i < 10; i++) p.encoder.event(3, 0, `target-${i}`, 'm', undefined, null);
  t.equal(strings.size, 2);
  t.same((p.read() as EventRecord[]).map((r) => r.target), Array.from({ length: 10 }, (_, i) => `target-${i}`));
  t.equal(p.decoder.stringCount, 2);
  t.same(strings.snapshot(), ['target-0', 'target-1']);
  const none = pipeline({ strings: new StringTable(0) });
  none.encoder.event(3, 0, 'a', 'm', { k: 1 }, null);
  t.same(none.kinds(), [F.KIND_EVENT], 'cap 0: nothing interned');
});

t.test('a record too large for the ring is counted oversize, not dropped', async (t) => {
  const p = pipeline();
  t.notOk(p.encoder.event(3, 0, 'big', 'm', { s: 'x'.repeat(16_000), t: 'y'.repeat(16_000), u: 'z'.repeat(16_000) }, null));
  t.same(p.writer.counts(), { offered: 1, written: 0, dropped: 0, oversize: 1, refused: 0 });
  t.equal(p.encoder.strings.lookup('big'), undefined, 'rolled back');
  t.ok(p.encoder.event(3, 0, 'big', 'm', { s: 'ok' }, null), 'the encoder is usable afterwards');
  t.equal((p.read()[0] as EventRecord).target, 'big');
});

t.test('a record that fits in the ring is written, however its strings are made', async (t) => {
  // 12,000 ASCII characters are 12,000 bytes: they fit in half a 64 KiB ring.
  const p = pipeline();
  t.ok(p.encoder.event(3, 0, 't', 'a'.repeat(12_000), undefined, null), 'ASCII message');
  t.ok(p.encoder.event(3, 0, 't', 'm', { s: 'b'.repeat(12_000) }, null), 'ASCII field');
  t.same(p.writer.counts(), { offered: 2, written: 2, dropped: 0, oversize: 0, refused: 0 });
  const [a, b] = p.read() as EventRecord[];
  t.equal(a!.message.length, 12_000);
  t.equal((b!.fields['s'] as string).length, 12_000);
});

t.test('pino lines become events', async (t) => {
  const p = pipeline();
  p.encoder.logLine(5, '{"level":40,"time":1,"name":"api","msg":"slow","ms":12,"tags":["a",1],"req":{"id":1}}\n', IDS);
  p.encoder.logLine(6, 'not json\n', null);
  const [a, b] = p.read() as EventRecord[];
  t.same({ ...a, fields: { ...a!.fields } }, { kind: 'event', time: 5, level: 'warn', target: 'api', message: 'slow', fields: { ms: 12, tags: ['a', 1], req: '{"id":1}' }, traceId: TRACE_HEX, spanId: SPAN_HEX });
  t.same({ ...b, fields: { ...b!.fields } }, { kind: 'event', time: 6, level: 'error', target: 'pino', message: 'unparseable pino line', fields: { line: 'not json' }, traceId: undefined, spanId: undefined });
  t.same([10, 20, 30, 40, 50, 60, 'x'].map(pinoLevel), [1, 2, 3, 4, 5, 5, 3]);
  const c = pinoLineToEvent('{"msg":3,"name":"","__proto__":1,"n":null,"arr":[{"x":1}]}', 0, undefined, undefined);
  t.equal(c.target, 'pino');
  t.equal(c.message, '');
  t.equal(c.level, 'info');
  t.same({ ...c.fields }, { ['__proto__']: 1, n: null, arr: '[{"x":1}]' });
  t.equal(pinoLineToEvent('[1]', 0, undefined, undefined).message, 'unparseable pino line');
  t.equal(pinoLineToEvent('null', 0, undefined, undefined).message, 'unparseable pino line');
});

t.test('a new decoder is seeded with the strings already defined', async (t) => {
  const p = pipeline();
  p.encoder.event(3, 0, 'seeded', 'm', undefined, null);
  p.read();
  p.encoder.event(3, 0, 'seeded', 'm', undefined, null);
  const fresh = new RecordDecoder(p.reader.bytes, { strings: p.encoder.strings.snapshot() });
  t.equal((fresh.decode(p.reader.position & p.reader.mask) as EventRecord).target, 'seeded');
});

t.test('unknown kinds and value tags are decoder errors, not silent garbage', async (t) => {
  const p = pipeline();
  p.encoder.spanStart(spanStartOf({ handle: 1, startTime: 0, ids: IDS, parent: null, parentRemote: false, traceFlags: 0, spanKind: 0, level: 3, name: 's', target: 't', traceState: '', attributes: undefined, maxAttributes: 8 }));
  p.read();
  p.encoder.spanName(1, 's'); // 's' is already defined: one record, no definition ahead of it
  const off = p.reader.position & p.reader.mask;
  p.reader.bytes[off + F.RECORD_KIND_OFFSET] = 99;
  t.throws(() => p.decoder.decode(off), /unknown record kind 99/);
});

t.test('an unknown value tag is a decoder error', async (t) => {
  const p = pipeline();
  p.encoder.event(3, 0, 't', 'm', { k: true }, null);
  p.read();
  p.encoder.event(3, 0, 't', 'm', { k: true }, null); // ...STR_REF k, VALUE_TRUE, then alignment
  const off = p.reader.position & p.reader.mask;
  const recordEnd = off + 8 + 8 + 5 + 6 + 4 + 5; // header, time, target ref, message 'm', count, key ref
  t.equal(p.reader.bytes[recordEnd], F.VALUE_TRUE);
  p.reader.bytes[recordEnd] = 77;
  t.throws(() => p.decoder.decode(off), /unknown value tag 77/);
});

t.test('in place and in scratch: the same record either way, and a new string forces scratch', async (t) => {
  const p = pipeline();
  const claimsBefore = p.writer.claimEnd;
  t.ok(p.encoder.event(3, 1, 'inplace', 'first', { k: 1 }, null), 'first use: strings defined, so encoded in scratch');
  t.same(p.kinds(), [F.KIND_STRING_DEF, F.KIND_STRING_DEF, F.KIND_EVENT], 'definitions ahead of the record, in one reservation');
  p.read();
  t.ok(p.encoder.event(3, 2, 'inplace', 'second', { k: 2 }, null), 'strings known: encoded in place');
  t.not(p.writer.claimEnd, claimsBefore, 'the writer handed out in-place space');
  t.same(p.kinds(), [F.KIND_EVENT], 'no definitions this time');
  const [r] = p.read() as EventRecord[];
  t.same({ message: r!.message, target: r!.target, fields: { ...r!.fields } }, { message: 'second', target: 'inplace', fields: { k: 2 } });
  // Near the end of the ring, a record larger than the space left there is
  // encoded again in scratch, which wraps: nothing lost, nothing doubled.
  let n = 2;
  while ((p.writer.writePosition & (MIN_CAPACITY - 1)) < MIN_CAPACITY - 3000) {
    p.encoder.event(3, n, 'inplace', 'filler', { k: n }, null);
    n++;
    p.read();
  }
  const big = 'x'.repeat(5000);
  t.ok(p.encoder.event(3, n, 'inplace', big, { k: n }, null));
  t.ok(p.writer.writePosition % MIN_CAPACITY < 6000, 'it wrapped to the start of the ring');
  const out = p.read() as EventRecord[];
  t.equal(out.length, 1, 'exactly one record');
  t.equal(out[0]!.message, big);
  t.same(p.writer.counts(), { offered: n + 1, written: n + 1, dropped: 0, oversize: 0, refused: 0 }, 'first, second, the fillers and the big one');
});

t.test('re-entrancy: a record made while another is encoded is refused and counted, the outer one is intact', async (t) => {
  const p = pipeline();
  let inner: boolean | undefined;
  const fields = {
    before: 1,
    get sneaky(): number {
      // A getter that records through the same encoder while it is encoding.
      inner = p.encoder.event(3, 9, 'inner', 'from a getter', { x: 1 }, null);
      return 2;
    },
    after: 3,
  };
  t.ok(p.encoder.event(3, 1, 'outer', 'outer message', fields, null), 'the outer record is written');
  t.equal(inner, false, 'the inner call is refused');
  const out = p.read() as EventRecord[];
  t.equal(out.length, 1, 'only the outer record reached the ring');
  t.same({ target: out[0]!.target, message: out[0]!.message, fields: { ...out[0]!.fields } }, { target: 'outer', message: 'outer message', fields: { before: 1, sneaky: 2, after: 3 } });
  t.same(p.writer.counts(), { offered: 2, written: 1, dropped: 1, oversize: 0, refused: 1 }, 'offered == written + dropped + oversize, the refusal among the drops');
  // The encoder is usable afterwards.
  t.ok(p.encoder.event(3, 2, 'outer', 'again', undefined, null));
  t.equal((p.read() as EventRecord[])[0]!.message, 'again');
});

/** [kind, size, flags] of each record not yet read from the ring, string definitions skipped. */
function frames(p: ReturnType<typeof pipeline>): [number, number, number][] {
  const out: [number, number, number][] = [];
  const view = p.reader.view;
  for (let pos = p.reader.position; pos < p.reader.available(); ) {
    const off = pos & p.reader.mask;
    const size = view.getUint32(off + F.RECORD_SIZE_OFFSET, true);
    const kind = view.getUint8(off + F.RECORD_KIND_OFFSET);
    if (kind !== F.KIND_STRING_DEF) out.push([kind, size, view.getUint16(off + F.RECORD_FLAGS_OFFSET, true)]);
    pos += size;
  }
  return out;
}

t.test("spanComplete: the fast path writes what the general path writes, and falls back when it must", async (t) => {
  const source = (attributeList: unknown[], o: { parent?: IdWords | null; traceState?: string; name?: string } = {}) => ({
    handle: 42,
    startTime: 1_700_000_000_123.25,
    ...IDS,
    hasParent: o.parent !== undefined && o.parent !== null,
    parentS0: o.parent?.s0 ?? 0,
    parentS1: o.parent?.s1 ?? 0,
    parentRemote: o.parent !== undefined && o.parent !== null,
    traceFlags: 1,
    spanKind: 2,
    level: 3,
    name: o.name ?? 'GET /items',
    target: 'http',
    traceStateText: o.traceState ?? '',
    attributeList,
  });
  const fast: [string, ReturnType<typeof source>][] = [
    ['no attributes', source([])],
    ['with a remote parent', source(['a', 1], { parent: PARENT })],
    ['int, float, booleans, strings', source(['i', 7, 'f', 2.5, 't', true, 'no', false, 's', 'GET', 'e', ''])],
    ['a 48-character string', source(['s', 'x'.repeat(48)])],
    ['a repeated key (the later wins when decoded)', source(['k', 1, 'k', 2])],
  ];
  const slow: [string, ReturnType<typeof source>][] = [
    ['seven attributes', source(['a', 1, 'b', 2, 'c', 3, 'd', 4, 'e', 5, 'f', 6, 'g', 7])],
    ['a 49-character string', source(['s', 'x'.repeat(49)])],
    ['a non-ASCII string', source(['s', 'café'])],
    ['an array value', source(['s', [1, 2]])],
    ['a trace state', source(['a', 1], { traceState: 'k=v' })],
  ];
  // With drop counts (written) and without (their bytes left out).
  for (const [a, e, l] of [
    [1, 2, 3],
    [0, 0, 0],
  ] as const) {
    for (const [what, span] of [...fast, ...slow]) {
      const label = `${what}, drops ${a}/${e}/${l}`;
      // Reference: a fresh encoder, whose first call always takes the general path.
      const ref = pipeline();
      t.ok(ref.encoder.spanComplete({ ...span, statusCode: 0, statusMessage: '', endTime: 1_700_000_000_456.5, droppedAttributes: a, droppedEvents: e, droppedLinks: l }));
      t.equal(ref.encoder.fastSpans, 0);
      const refFrames = frames(ref);
      const expected = ref.read();
      // Warm: the first call fills the slot cache, the second may take the fast path.
      const p = pipeline();
      p.encoder.spanComplete({ ...span, statusCode: 0, statusMessage: '', endTime: 1_700_000_000_456.5, droppedAttributes: a, droppedEvents: e, droppedLinks: l });
      p.read();
      const before = p.writer.counts();
      t.ok(p.encoder.spanComplete({ ...span, statusCode: 0, statusMessage: '', endTime: 1_700_000_000_456.5, droppedAttributes: a, droppedEvents: e, droppedLinks: l }));
      const isFast = fast.some(([w]) => w === what);
      t.equal(p.encoder.fastSpans, isFast ? 1 : 0, `${label}: ${isFast ? 'fast' : 'general'} path`);
      t.equal(p.writer.counts().written - before.written, 2, `${label}: two records`);
      t.same(frames(p), refFrames, `${label}: records of the same kinds, sizes and flags`);
      const got = p.read();
      t.same(got, expected, `${label}: the same records`);
      const end = got[1] as Extract<TraceRecord, { kind: 'spanEnd' }>;
      t.same([end.droppedAttributesCount, end.droppedEventsCount, end.droppedLinksCount], [a, e, l], `${label}: drop counts`);
    }
  }
  // A status goes the general path (three records).
  const s = pipeline();
  s.encoder.spanComplete({ ...source([]), statusCode: 0, statusMessage: '', endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }); // cold: general
  s.encoder.spanComplete({ ...source([]), statusCode: 0, statusMessage: '', endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }); // warm: fast
  t.equal(s.encoder.fastSpans, 1);
  s.read();
  t.ok(s.encoder.spanComplete({ ...source([]), statusCode: 2, statusMessage: 'boom', endTime: 1, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  t.equal(s.encoder.fastSpans, 1, 'the span with a status took the general path');
  t.same(
    s.read().map((r) => (r === ORPHAN ? 'orphan' : r.kind)),
    ['spanStart', 'spanStatus', 'spanEnd'],
  );
});

t.test('optional parts of span records: drop counts only when a count is not 0, a trace state only when there is one', async (t) => {
  const span = (traceStateText: string) => ({
    handle: 5,
    startTime: 1,
    ...IDS,
    hasParent: false,
    parentS0: 0,
    parentS1: 0,
    parentRemote: false,
    traceFlags: 1,
    spanKind: 0,
    level: 3,
    name: 'n',
    target: 't',
    traceStateText,
    attributeList: [],
  });
  for (const [traceState, drops] of [
    ['', [0, 0, 0]],
    ['', [0, 4, 0]],
    ['k=v', [0, 0, 0]],
  ] as const) {
    const p = pipeline();
    const [da, de, dl] = drops;
    for (let i = 0; i < 2; i++) t.ok(p.encoder.spanComplete({ ...span(traceState), statusCode: 0, statusMessage: '', endTime: 2, droppedAttributes: da, droppedEvents: de, droppedLinks: dl }), 'cold, then warm (the fast path where it applies)');
    const f = frames(p);
    const [start, end] = [f.at(-2)!, f.at(-1)!];
    t.equal(start[0], F.KIND_SPAN_START);
    t.equal((start[2] & F.FLAG_HAS_TRACE_STATE) !== 0, traceState !== '', `trace state ${JSON.stringify(traceState)}: FLAG_HAS_TRACE_STATE`);
    t.equal(end[0], F.KIND_SPAN_END);
    const anyDrop = drops.some((d) => d !== 0);
    t.same([end[1], end[2]], anyDrop ? [32, F.FLAG_HAS_DROPS] : [24, 0], `drops ${drops.join('/')}: end record size and flags`);
    const records = p.read().filter((r): r is TraceRecord => r !== ORPHAN);
    const s = records.at(-2) as Extract<TraceRecord, { kind: 'spanStart' }>;
    const e = records.at(-1) as Extract<TraceRecord, { kind: 'spanEnd' }>;
    t.equal(s.span.traceState, traceState, 'the trace state decodes');
    t.same([e.droppedAttributesCount, e.droppedEventsCount, e.droppedLinksCount], drops, 'the drop counts decode');
  }
});

t.test('event: the fast path writes what the general path writes, and falls back when it must', async (t) => {
  type Case = [string, string, object | undefined, IdWords | null];
  const bare = Object.assign(Object.create(null) as object, { a: 1 });
  class Fields {
    a = 1;
  }
  const fast: Case[] = [
    ['no fields', 'msg', undefined, null],
    ['empty fields', 'msg', {}, null],
    ['in a span', 'msg', { a: 1 }, IDS],
    ['int, float, booleans, strings', 'charged', { i: 7, f: 2.5, t: true, no: false, s: 'EUR', e: '' }, null],
    ['a null-prototype object', 'msg', bare, null],
    ['a getter', 'msg', { get g(): number { return 5; } }, null],
    ['a 48-character message', 'm'.repeat(48), { a: 1 }, null],
  ];
  const slow: Case[] = [
    ['seven fields', 'msg', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 }, null],
    ['a non-ASCII message', 'café', { a: 1 }, null],
    ['a 49-character message', 'm'.repeat(49), { a: 1 }, null],
    ['an object value', 'msg', { a: { b: 1 } }, null],
    ['a null value', 'msg', { a: null }, null],
    ['a class instance', 'msg', new Fields(), null],
    ['null fields', 'msg', null as unknown as undefined, null],
  ];
  for (const [what, message, fields, ctx] of [...fast, ...slow]) {
    const ref = pipeline();
    t.ok(ref.encoder.event(3, 1_700_000_000_123.5, 'app', message, fields, ctx));
    t.equal(ref.encoder.fastEvents, 0);
    const expected = ref.read();
    const p = pipeline();
    p.encoder.event(3, 1_700_000_000_123.5, 'app', message, fields, ctx);
    p.read();
    t.ok(p.encoder.event(3, 1_700_000_000_123.5, 'app', message, fields, ctx));
    const isFast = fast.some(([w]) => w === what);
    t.equal(p.encoder.fastEvents, isFast ? 1 : 0, `${what}: ${isFast ? 'fast' : 'general'} path`);
    t.same(p.read(), expected, `${what}: the same record`);
  }
});

t.test('schema: every fixed offset it declares is where the encoder writes that field and the decoder reads it', async (t) => {
  t.same(S.SPAN_START.at, { handle: 8, startTime: 12, traceId: 20, spanId: 36, parentSpanId: 44 });
  t.same(S.SPAN_END.at, { handle: 8, endTime: 12, droppedAttributes: 20, droppedEvents: 24, droppedLinks: 28 });
  t.same(S.EVENT.at, { time: 8, traceId: 16, spanId: 32 });
  t.same(S.LOG_LINE.at, { time: 8, traceId: 16, spanId: 32 });
  t.same(S.STRING_DEF.at, { id: 8 });
  t.same([S.SPAN_END_BYTES, S.SPAN_END_WITH_DROPS_BYTES], [24, 32]);
  t.same(
    S.SCHEMAS.map((k) => k.kind),
    [F.KIND_STRING_DEF, F.KIND_SPAN_START, F.KIND_SPAN_ATTRS, F.KIND_SPAN_EVENT, F.KIND_SPAN_LINK, F.KIND_SPAN_STATUS, F.KIND_SPAN_NAME, F.KIND_SPAN_END, F.KIND_EVENT, F.KIND_LOG_LINE],
  );
  // Bytes at the declared offsets, from both of the encoder's paths (cold: general, warm: fast).
  for (const round of ['general', 'fast']) {
    const p = pipeline();
    const span = {
      ...spanStartOf({ handle: 77, startTime: 1234.5, ids: IDS, parent: PARENT, parentRemote: false, traceFlags: 1, spanKind: 1, level: 3, name: 'n', target: 't', traceState: '', attributes: undefined, maxAttributes: 8 }),
      statusCode: 0,
      statusMessage: '',
      endTime: 2345.5,
      droppedAttributes: 1,
      droppedEvents: 2,
      droppedLinks: 3,
    };
    if (round === 'fast') {
      p.encoder.spanComplete(span);
      p.read();
    }
    const at = p.writer.writePosition;
    t.ok(p.encoder.spanComplete(span));
    t.equal(p.encoder.fastSpans, round === 'fast' ? 1 : 0, round);
    const walker = new RecordWalker(p.reader.bytes);
    let pos = at;
    while (walker.kindAt(pos) !== F.KIND_SPAN_START) pos += walker.sizeAt(pos, p.writer.writePosition);
    const v = new DataView(p.reader.bytes.buffer, p.reader.bytes.byteOffset);
    const off = pos & p.reader.mask;
    t.equal(v.getUint32(off + S.SPAN_START.at.handle, true), 77, `${round}: handle`);
    t.equal(v.getFloat64(off + S.SPAN_START.at.startTime, true), 1234.5, `${round}: start time`);
    t.equal(v.getUint32(off + S.SPAN_START.at.traceId), IDS.t0 >>> 0, `${round}: trace id`);
    t.equal(v.getUint32(off + S.SPAN_START.at.spanId), IDS.s0 >>> 0, `${round}: span id`);
    t.equal(v.getUint32(off + S.SPAN_START.at.parentSpanId), PARENT.s0 >>> 0, `${round}: parent span id`);
    const end = off + walker.sizeAt(pos, p.writer.writePosition);
    t.equal(v.getUint8(end + F.RECORD_KIND_OFFSET), F.KIND_SPAN_END);
    t.equal(v.getFloat64(end + S.SPAN_END.at.endTime, true), 2345.5, `${round}: end time`);
    t.same([v.getUint32(end + S.SPAN_END.at.droppedAttributes, true), v.getUint32(end + S.SPAN_END.at.droppedEvents, true), v.getUint32(end + S.SPAN_END.at.droppedLinks, true)], [1, 2, 3], `${round}: drop counts`);
    const records = p.read();
    t.match(records.at(-2), { kind: 'spanStart', time: 1234.5 });
    t.match(records.at(-1), { kind: 'spanEnd', time: 2345.5, droppedAttributesCount: 1, droppedEventsCount: 2, droppedLinksCount: 3 });
  }
});

t.test('an integer value that is not an integer is corrupt: the INT and FLOAT tags mean what they say', async (t) => {
  const p = pipeline();
  const at = p.writer.writePosition;
  t.ok(p.encoder.event(3, 1, 'x'.repeat(300), '', { n: 7 }, null));
  const v = new DataView(p.reader.bytes.buffer, p.reader.bytes.byteOffset);
  // The value is the record's last 9 bytes before padding: find the INT tag followed by 7.0.
  let found = -1;
  for (let i = at; i < p.writer.writePosition - 8; i++) if (v.getUint8(i) === F.VALUE_INT && v.getFloat64(i + 1, true) === 7) found = i;
  t.ok(found > 0);
  v.setFloat64(found + 1, 7.5, true);
  t.throws(() => p.read(), /an integer value reads 7.5/);
});

t.test('a Logs API record (EVENT with FLAG_LOG_RECORD) round trips, in place and in scratch', async (t) => {
  const p = pipeline();
  const base = {
    level: 4, time: 1000.5, observedTime: 2000.25, target: 'logs', message: 'hello', bodyJson: undefined, hasBody: true,
    attributes: { a: 1 }, ctx: IDS, traceFlags: 1, severityNumber: 14, severityText: 'WARN2', eventName: 'e.name',
    scopeVersion: '1.0.0', schemaUrl: 'https://s/1',
  };
  // The first is written in scratch (its strings are new), the second in place.
  for (let i = 0; i < 2; i++) t.equal(p.encoder.logRecord(base), true);
  t.equal(p.encoder.logRecord({ ...base, message: '', bodyJson: '{"k":[1,"x",null]}', ctx: null, severityNumber: 0, severityText: '', eventName: '' }), true);
  t.equal(p.encoder.logRecord({ ...base, message: '', hasBody: false, bodyJson: undefined }), true);
  t.equal(p.encoder.logRecord({ ...base, message: '', bodyJson: '{not json' }), true);
  // A plain event between them still decodes as one, without the Logs API's fields.
  t.equal(p.encoder.event(3, 1, 'plain', 'm', undefined, null), true);
  const [a, b, c, d, e, f] = p.read() as EventRecord[];
  for (const r of [a, b]) {
    t.match(r, {
      kind: 'event', time: 1000.5, level: 'warn', target: 'logs', message: 'hello', body: 'hello', traceId: TRACE_HEX, spanId: SPAN_HEX,
      traceFlags: 1, severityNumber: 14, severityText: 'WARN2', eventName: 'e.name', observedTime: 2000.25, scopeVersion: '1.0.0', schemaUrl: 'https://s/1',
    });
    t.same({ ...r!.fields }, { a: 1 });
  }
  t.same(c!.body, { k: [1, 'x', null] }, 'a structured body parsed back');
  t.equal(c!.message, '{"k":[1,"x",null]}', 'its JSON is the message');
  t.equal(c!.traceId, undefined);
  t.equal(c!.traceFlags, 1, 'flags as given (capture sends 0 without a context)');
  t.equal(c!.severityNumber, 0);
  t.equal(d!.body, undefined, 'no body');
  t.equal(e!.body, '{not json', 'a body that does not parse stays its text');
  t.equal(f!.severityNumber, undefined, 'a plain event has none of the Logs API fields');
  t.notOk('body' in f!);
});

t.test("span infos keep their ids' bytes only while a sink asks (keepSpanIdBytes), and read the same either way", async (t) => {
  const p = pipeline();
  const start = (handle: number) =>
    p.encoder.spanStart(spanStartOf({ handle, startTime: 1, ids: IDS, parent: PARENT, parentRemote: false, traceFlags: 1, spanKind: 0, level: 3, name: 'n', target: 't', traceState: '', attributes: undefined, maxAttributes: 128 }));
  t.teardown(() => keepSpanIdBytes(false));
  t.ok(start(1));
  const [plain] = p.read() as TraceRecord[];
  keepSpanIdBytes(true);
  t.ok(start(2));
  const [kept] = p.read() as TraceRecord[];
  const infoOf = (r: TraceRecord | undefined) => (r as { span: SpanInfo }).span;
  t.equal(DecodedSpanInfo.of(infoOf(plain)), undefined, 'off (no otlp sink): a plain object, no bytes kept');
  const decoded = DecodedSpanInfo.of(infoOf(kept));
  t.ok(decoded, 'on: the ids are kept as bytes');
  const out = new Uint8Array(32);
  decoded!.writeTraceId(out, 0);
  decoded!.writeSpanId(out, 16);
  decoded!.writeParentSpanId(out, 24);
  t.equal(Buffer.from(out.subarray(0, 16)).toString('hex'), infoOf(kept).traceId, 'the trace id bytes are its hex');
  t.equal(Buffer.from(out.subarray(16, 24)).toString('hex'), infoOf(kept).spanId, 'the span id bytes');
  t.equal(Buffer.from(out.subarray(24, 32)).toString('hex'), infoOf(kept).parentSpanId, "the parent's");
  t.same({ ...infoOf(kept) }, { ...infoOf(plain) }, 'the same public fields either way');
});
