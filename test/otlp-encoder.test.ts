/**
 * The OTLP encoders (src/sinks/otlp) against their oracle, the SDK's
 * otlp-transformer serializers fed with the ReadableSpan / ReadableLogRecord
 * mapping in fixtures/otlp-oracle.ts: random spans and event records, both
 * encodings decoded with protobufjs and the official .proto files
 * (fixtures/otlp-schema.ts), compared field by field; the bytes too.
 * JSON is compared after JSON.parse.
 */
import t, { type Test } from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import { OtlpTraceEncoder } from '../src/sinks/otlp/trace-encoder.js';
import { putTimeMs } from '../src/sinks/otlp/protobuf-writer.js';
import { OtlpLogsEncoder } from '../src/sinks/otlp/logs-encoder.js';
import { SpanAssembler, type AssembledSpan } from '../src/sinks/span-assembler.js';
import { DecodedSpanInfo } from '../src/decoder/decoded-span-info.js';
import { hex16, hex8 } from '../src/decoder/id-hex.js';
import { emptyFields } from '../src/record/fields.js';
import type { EventRecord, FieldPrimitive, FieldValue, Fields, LogBody } from '../src/record/trace-record.js';
import { OtlpOracle } from './fixtures/otlp-oracle.js';
import { LogsRequest, TraceRequest } from './fixtures/otlp-schema.js';

/** A decoded message as plain data: longs as strings, bytes as hex, NaN spelled out. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function decode(type: protobuf.Type, bytes: Uint8Array): unknown {
  return plain(type.toObject(type.decode(bytes), { longs: String, enums: Number, defaults: false }));
}

const RESOURCE = { 'service.name': 'checkout', 'process.pid': 4242, 'host.arch': 'x64', ratio: 0.5, on: true };

// ── arbitraries ──────────────────────────────────────────────────────────

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
// Any UTF-16 unit, lone surrogates included.
const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), anyUnits, fc.constant(''), fc.string({ minLength: 130, maxLength: 300 }));
const primitive: fc.Arbitrary<FieldPrimitive> = fc.oneof(
  text,
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 63, -(2 ** 63), 2 ** 64, 1e300, 0.1),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.constant(null),
);
const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof({ weight: 4, arbitrary: primitive }, { weight: 1, arbitrary: fc.array(primitive, { maxLength: 4 }) });
const key = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('http.method', '__proto__', '0', '17', 'ringtrace.incomplete', 'constructor', 'thread.id', 'thread.name'));

function fieldsOf(entries: [string, FieldValue][]): Fields {
  const out = Object.create(null) as Fields;
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
const fields = fc.array(fc.tuple(key, fieldValue), { maxLength: 6 }).map(fieldsOf);
const time = fc.oneof(fc.double({ min: 0, max: 4e12, noNaN: true }), fc.integer({ min: 0, max: 4e12 }), fc.constant(1_764_681_000_123.25));
const count = fc.oneof(fc.constant(0), fc.nat({ max: 1000 }), fc.nat());
// The thread a span or record came from: none (made by hand), one of two shared infos (as a ring's decoder shares one), or any.
const THREADS = [Object.freeze({ id: 0, name: 'main' }), Object.freeze({ id: 7, name: 'pool worker' })];
const thread = fc.oneof(fc.constant(undefined), fc.constantFrom(...THREADS), fc.record({ id: fc.nat(), name: text }));

const span: fc.Arbitrary<AssembledSpan> = fc
  .record({
    traceId: hex(16),
    spanId: hex(8),
    parent: fc.option(fc.record({ id: hex(8), remote: fc.boolean() }), { nil: undefined }),
    traceFlags: fc.constantFrom(0, 1, 0xff),
    traceState: fc.constantFrom('', 'a=1', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7', 'bad key=1', 'x=1,x=2', ' a = b ', '=', 'a=1,,b=2'),
    name: text,
    target: fc.oneof(fc.constantFrom('http', 'db', 'app', ''), text),
    spanKind: fc.integer({ min: 0, max: 4 }),
    start: time,
    duration: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(0)),
    attributes: fields,
    events: fc.array(fc.record({ time, name: text, attributes: fields, droppedAttributesCount: count }), { maxLength: 3 }),
    links: fc.array(fc.record({ traceId: hex(16), spanId: hex(8), traceFlags: fc.constantFrom(0, 1), attributes: fields, droppedAttributesCount: count }), { maxLength: 3 }),
    statusCode: fc.integer({ min: 0, max: 2 }),
    statusMessage: fc.oneof(fc.constant(''), text),
    droppedAttributesCount: count,
    droppedEventsCount: count,
    droppedLinksCount: count,
    incomplete: fc.boolean(),
    incompleteReason: fc.constantFrom('evicted' as const, 'closed' as const, undefined),
    thread,
  })
  .map((r) => ({
    traceId: r.traceId,
    spanId: r.spanId,
    parentSpanId: r.parent?.id,
    parentIsRemote: r.parent?.remote ?? false,
    traceFlags: r.traceFlags,
    traceState: r.traceState,
    name: r.name,
    target: r.target,
    spanKind: r.spanKind,
    startTime: r.start,
    endTime: r.start + r.duration,
    attributes: r.attributes,
    events: r.events,
    links: r.links,
    statusCode: r.statusCode,
    statusMessage: r.statusMessage,
    droppedAttributesCount: r.droppedAttributesCount,
    droppedEventsCount: r.droppedEventsCount,
    droppedLinksCount: r.droppedLinksCount,
    incomplete: r.incomplete,
    incompleteReason: r.incomplete ? r.incompleteReason : undefined,
    thread: r.thread,
  }));

const logBody: fc.Arbitrary<LogBody> = fc.letrec<{ body: LogBody }>((tie) => ({
  body: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('body'), { maxLength: 3 }),
    fc.dictionary(key, tie('body'), { maxKeys: 3 }),
  ),
})).body;

const level = fc.constantFrom('trace' as const, 'debug' as const, 'info' as const, 'warn' as const, 'error' as const);
const context = fc.oneof(
  fc.constant({ traceId: undefined, spanId: undefined }),
  fc.record({ traceId: hex(16), spanId: hex(8) }),
  fc.record({ traceId: hex(16), spanId: fc.constant(undefined) }),
);
const plainEvent: fc.Arbitrary<EventRecord> = fc
  .record({ time, level, target: fc.oneof(fc.constantFrom('app', 'db'), text), message: text, fields, context, traceFlags: fc.option(fc.constantFrom(0, 1), { nil: undefined }), thread })
  .map((r) => ({ kind: 'event', time: r.time, level: r.level, target: r.target, message: r.message, fields: r.fields, ...r.context, ...(r.traceFlags === undefined ? {} : { traceFlags: r.traceFlags }), thread: r.thread }));
const logsApiRecord: fc.Arbitrary<EventRecord> = fc
  .record({
    time,
    observedTime: fc.option(time, { nil: undefined }),
    level,
    target: fc.constantFrom('app', 'db', ''),
    fields,
    context,
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: fc.oneof(fc.constant(''), text),
    eventName: fc.oneof(fc.constant(''), text),
    body: fc.option(logBody, { nil: undefined }),
    traceFlags: fc.constantFrom(0, 1),
    scopeVersion: fc.constantFrom('', '1.2.3'),
    schemaUrl: fc.constantFrom('', 'https://opentelemetry.io/schemas/1.30.0'),
    thread,
  })
  .map((r) => ({
    kind: 'event',
    time: r.time,
    level: r.level,
    target: r.target,
    message: typeof r.body === 'string' ? r.body : JSON.stringify(r.body) ?? '',
    fields: r.fields,
    ...r.context,
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    eventName: r.eventName,
    observedTime: r.observedTime ?? r.time,
    ...(r.body === undefined ? {} : { body: r.body }),
    traceFlags: r.traceFlags,
    scopeVersion: r.scopeVersion,
    schemaUrl: r.schemaUrl,
    thread: r.thread,
  }));
const eventRecord = fc.oneof(plainEvent, logsApiRecord);

// ── the comparisons ──────────────────────────────────────────────────────

/** What a comparison asserts with: a tap test, or a Collector inside a property. */
interface Checker {
  same(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
}

const oracle = new OtlpOracle(RESOURCE);
const traceProtobuf = new OtlpTraceEncoder(RESOURCE, 'http/protobuf');
const traceJson = new OtlpTraceEncoder(RESOURCE, 'http/json');
const logsProtobuf = new OtlpLogsEncoder(RESOURCE, 'http/protobuf');
const logsJson = new OtlpLogsEncoder(RESOURCE, 'http/json');

function sameTraces(t: Checker, spans: readonly AssembledSpan[]): void {
  const ours = traceProtobuf.encode(spans);
  const theirs = oracle.traces(spans, 'http/protobuf');
  t.same(decode(TraceRequest, ours), decode(TraceRequest, theirs), 'protobuf decodes the same');
  t.ok(Buffer.from(ours).equals(Buffer.from(theirs)), 'protobuf bytes equal');
  t.same(JSON.parse(Buffer.from(traceJson.encode(spans)).toString()), JSON.parse(Buffer.from(oracle.traces(spans, 'http/json')).toString()), 'JSON the same');
}

function sameLogs(t: Checker, records: readonly EventRecord[]): void {
  const ours = logsProtobuf.encode(records);
  const theirs = oracle.logs(records, 'http/protobuf');
  t.same(decode(LogsRequest, ours), decode(LogsRequest, theirs), 'protobuf decodes the same');
  t.ok(Buffer.from(ours).equals(Buffer.from(theirs)), 'protobuf bytes equal');
  t.same(JSON.parse(Buffer.from(logsJson.encode(records)).toString()), JSON.parse(Buffer.from(oracle.logs(records, 'http/json')).toString()), 'JSON the same');
}

/** Runs a property; on a counterexample, one failing tap assertion with it. */
function property<T>(t: Test, arb: fc.Arbitrary<T>, check: (sub: Checker, value: T) => void, numRuns: number): void {
  const result = fc.check(
    fc.property(arb, (value) => {
      const sub = new Collector();
      check(sub, value);
      return sub.failures.length === 0;
    }),
    { numRuns },
  );
  t.notOk(result.failed, result.failed ? `counterexample: ${fc.stringify(result.counterexample)}` : `${numRuns} runs`);
}

/** A stand-in for a tap test that only records failures (so a property stays silent until it fails). */
class Collector implements Checker {
  failures: string[] = [];
  same(found: unknown, wanted: unknown, message: string): void {
    if (!isDeepStrictEqual(found, wanted)) this.failures.push(message);
  }
  ok(value: unknown, message: string): void {
    if (!value) this.failures.push(message);
  }
}

t.test('spans: random batches encode as otlp-transformer encodes them', (t) => {
  property(t, fc.array(span, { maxLength: 8 }), sameTraces, 300);
  t.end();
});

t.test('spans: the empty batch, and a batch of 5,000', (t) => {
  sameTraces(t, []);
  t.equal(traceProtobuf.encode([]).length, 0, 'an empty protobuf request is no bytes, as the SDK sends it');
  // tap's deep comparison is slow on a request this size: the Collector's isDeepStrictEqual instead.
  const big = new Collector();
  sameTraces(big, fc.sample(span, { numRuns: 5000, seed: 7 }));
  t.same(big.failures, [], '5,000 spans: protobuf and JSON the same');
  t.end();
});

t.test('spans the worker decoded: ids written from their bytes are the bytes their hex gives', (t) => {
  // Spans as the assembler delivers them from decoded records, against plain copies (which carry only the hex).
  const decoded = fc.record({
    ids: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    parent: fc.boolean(),
    at: fc.nat(8),
    traceState: fc.constantFrom('', 'k=v'),
    name: fc.string({ maxLength: 12 }),
  });
  property(
    t,
    fc.array(decoded, { minLength: 1, maxLength: 6 }),
    (sub, items) => {
      const delivered: AssembledSpan[] = [];
      const assembler = new SpanAssembler((s) => delivered.push(s));
      for (const { ids, parent, at, traceState, name } of items) {
        // The ids somewhere inside a larger region, as in the ring: trace, span, then the parent's.
        const region = new Uint8Array(48);
        region.set(ids, at);
        const info = new DecodedSpanInfo(
          {
            traceId: hex16(region, at),
            spanId: hex8(region, at + 16),
            parentSpanId: parent ? hex8(region, at + 24) : undefined,
            parentIsRemote: parent,
            traceFlags: 1,
            traceState,
            name,
            target: 'lib',
            level: 'info',
            spanKind: 1,
            startTime: 1_700_000_000_000.5,
          },
          new DataView(region.buffer),
          at,
          at + 24,
        );
        const attributes = emptyFields();
        attributes['k'] = 'v';
        assembler.consume({ kind: 'spanStart', span: info, time: info.startTime, attributes });
        assembler.consume({ kind: 'spanEnd', span: info, time: info.startTime + 2, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 });
      }
      const plain = delivered.map((s) => ({ ...s }));
      sub.ok(Buffer.from(traceProtobuf.encode(delivered)).equals(Buffer.from(traceProtobuf.encode(plain))), 'the same bytes');
      sameTraces(sub, delivered);
    },
    200,
  );
  const thread = Object.freeze({ id: 3, name: 'pool' });
  const fields = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), parentSpanId: undefined, parentIsRemote: false, traceFlags: 1, traceState: '', name: 'n', target: 'lib', level: 'info' as const, spanKind: 0, startTime: 1, thread };
  const info = new DecodedSpanInfo(fields, new DataView(new ArrayBuffer(32)), 0, 24);
  t.same(Object.keys(info), Object.keys(fields), 'only the public fields show, in the order of a plain SpanInfo');
  t.end();
});

t.test('spans: keys past what the encoder keeps, keys too long to keep, and keys seen again after', (t) => {
  const [base] = fc.sample(span, { numRuns: 1, seed: 5 });
  const spans: AssembledSpan[] = [];
  for (let i = 0; i < 5000; i++) {
    // 5,000 spans of 3 distinct keys each, so the key cache fills and starts again; each key seen twice.
    const attributes = fieldsOf([[`k${i}`, i], [`k${i + 1}`, 'v'], [i % 50 === 0 ? 'x'.repeat(300 + i) : 'http.method', 'GET']]);
    spans.push({ ...base!, attributes, events: [], links: [] });
  }
  const big = new Collector();
  sameTraces(big, spans);
  sameTraces(big, spans.slice(0, 100));
  t.same(big.failures, [], 'protobuf and JSON the same');
  t.end();
});

t.test('spans: a key whose value changes every span (a count) across every varint length', (t) => {
  const [base] = fc.sample(span, { numRuns: 1, seed: 9 });
  const counts = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 32, -1, -0, 1.5, 7, 7];
  const spans: AssembledSpan[] = [];
  // Past the changes after which the key's value is no longer kept, then every kind of count.
  // A key long enough that its KeyValue's length takes two bytes, too.
  const long = 'k'.repeat(200);
  for (let i = 0; i < 40; i++) spans.push({ ...base!, attributes: fieldsOf([['items.count', i * 1000], [long, i]]), events: [], links: [] });
  for (const n of counts) spans.push({ ...base!, attributes: fieldsOf([['items.count', n], ['http.method', n], [long, n]]), events: [], links: [] });
  const big = new Collector();
  sameTraces(big, spans);
  t.same(big.failures, [], 'protobuf and JSON the same');
  t.end();
});

t.test('spans: names the encoder keeps, seen again, past its bound, too long to keep, non-ASCII, with each kind', (t) => {
  const [base] = fc.sample(span, { numRuns: 1, seed: 13 });
  const names = ['GET /items', 'GET /items', 'é/ünï', '', 'a\ud800b', 'x'.repeat(300), 'x'.repeat(256), 'GET /items'];
  const spans: AssembledSpan[] = [];
  for (let i = 0; i < 3000; i++) {
    // Runs of one name, names back and forth, and 2,000 distinct ones in the middle so the kept names start again.
    const name = i >= 500 && i < 2500 ? `route ${i}` : names[(i >> 2) % names.length]!;
    spans.push({ ...base!, name, spanKind: i % 5, events: [], links: [] });
  }
  const big = new Collector();
  sameTraces(big, spans);
  sameTraces(big, spans.slice(2990));
  t.same(big.failures, [], 'protobuf and JSON the same');
  t.end();
});

t.test('spans: the same keys at shifting positions, and a key whose value changes type', (t) => {
  const [base] = fc.sample(span, { numRuns: 1, seed: 17 });
  const values: FieldValue[] = ['GET', 200, 'GET', true, 2.5, null, ['a', 1], 'GET', 10n ** 20n, 'ünï', 'x'.repeat(100), 200];
  const spans: AssembledSpan[] = [];
  for (let i = 0; i < 400; i++) {
    const v = values[i % values.length]!;
    const entries: [string, FieldValue][] = [['http.method', v], ['http.status', i], ['peer', 'db']];
    // Rotated every 7 spans, and now and then one key fewer: each position meets other keys.
    const shift = (i / 7) % 3 | 0;
    const rotated = [...entries.slice(shift), ...entries.slice(0, shift)].slice(0, i % 11 === 0 ? 2 : 3);
    spans.push({ ...base!, attributes: fieldsOf(rotated), events: [], links: [] });
  }
  const big = new Collector();
  sameTraces(big, spans);
  t.same(big.failures, [], 'protobuf and JSON the same');
  t.end();
});

t.test('spans: the kept thread attributes and tails, across threads, statuses, flags, remote parents and drops', (t) => {
  const [base] = fc.sample(span, { numRuns: 1, seed: 19 });
  const spans: AssembledSpan[] = [];
  // Over 1,024 threads of their own (past what is kept, so it starts again) among the two shared ones.
  for (let i = 0; i < 2400; i++) {
    spans.push({
      ...base!,
      events: [],
      links: [],
      statusMessage: '',
      thread: i % 2 === 0 ? { id: i, name: `t${i}` } : THREADS[(i >> 3) % 2],
      statusCode: (i >> 1) % 3,
      traceFlags: i % 5 === 0 ? 0 : 1,
      parentSpanId: i % 3 === 0 ? 'ab'.repeat(8) : undefined,
      parentIsRemote: i % 6 === 0,
      droppedAttributesCount: i % 11 === 0 ? 1 : 0,
      droppedEventsCount: i % 13 === 0 ? 2 : 0,
      droppedLinksCount: i % 17 === 0 ? 3 : 0,
      attributes: i % 19 === 0 ? fieldsOf([['thread.name', 'mine']]) : base!.attributes,
    });
  }
  const big = new Collector();
  sameTraces(big, spans);
  t.same(big.failures, [], 'protobuf and JSON the same');
  t.end();
});

/** The nearest whole nanosecond to `ms` milliseconds, exactly (a double is an integer over a power of two). */
function exactNanos(ms: number): bigint {
  let shift = 0;
  while (!Number.isInteger(ms * 2 ** shift)) shift++;
  const scaled = BigInt(ms * 2 ** shift) * 1_000_000n;
  return shift === 0 ? scaled : (scaled + (1n << BigInt(shift - 1))) >> BigInt(shift);
}

/** The double next below or above `x`. */
function nextDouble(x: number, step: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(step));
  return view.getFloat64(0);
}

t.test('putTimeMs: within a nanosecond of the exact time at second boundaries, across 32-bit carries, in any order', (t) => {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  const seconds = [0, 1, 4, 5, 4_294, 4_295, 1_000_000_000, 1_764_712_539, 1_796_248_795, 4_294_967_295, 4_000_000_000];
  const times: number[] = [];
  for (const s of seconds) {
    const at = s * 1000;
    times.push(at, at + 0.0005, at + 999.9999995, at + 999.999, at + 500.25);
    // (Next to 0 is a subnormal: too small a time to bother with.)
    if (at > 0) times.push(nextDouble(at, 1), nextDouble(at, -1), at - 0.0004, at - 999.9999);
  }
  // Each time after every other, so each is met both with its second split already and with another's.
  let worst = 0n;
  for (const before of times) {
    for (const ms of times) {
      putTimeMs(out, 0, before);
      putTimeMs(out, 0, ms);
      const diff = view.getBigUint64(0, true) - exactNanos(ms);
      const abs = diff < 0n ? -diff : diff;
      if (abs > worst) worst = abs;
    }
  }
  t.ok(worst <= 1n, `worst difference ${worst} ns over ${times.length ** 2} pairs`);
  t.end();
});

t.test('spans: a body stays valid after the next encode', (t) => {
  const [a, b] = fc.sample(span, { numRuns: 2, seed: 3 });
  const first = traceProtobuf.encode([a!]);
  const copy = Buffer.from(first);
  traceProtobuf.encode([b!, b!, b!]);
  t.ok(Buffer.from(first).equals(copy));
  t.end();
});

t.test('logs: random batches of events and Logs API records encode as otlp-transformer encodes them', (t) => {
  property(t, fc.array(eventRecord, { maxLength: 8 }), sameLogs, 300);
  sameLogs(t, []);
  const big = new Collector();
  sameLogs(big, fc.sample(eventRecord, { numRuns: 2000, seed: 11 }));
  t.same(big.failures, [], '2,000 records: protobuf and JSON the same');
  t.end();
});

t.test('unpaired surrogates become U+FFFD on both sides', (t) => {
  const s = fc.sample(span, { numRuns: 1, seed: 1 })[0]!;
  const lone = { ...s, name: 'a\ud800b', attributes: fieldsOf([['k\udc00', 'x\ud83d'], ['long', '\ud800'.repeat(50)]]) };
  const ours = Buffer.from(traceProtobuf.encode([lone]));
  t.ok(ours.equals(Buffer.from(oracle.traces([lone], 'http/protobuf'))), 'bytes equal the oracle');
  t.ok(ours.includes(Buffer.from('a\ufffdb')), 'U+FFFD (EF BF BD) in place of the lone surrogate');
  t.end();
});
