/**
 * Hostile input (issue 5): property-based tests with fast-check over what
 * applications hand to capture — event messages, targets and fields; span
 * names, attributes, event names and attributes, link attributes; pino
 * objects — built from cyclic objects, throwing getters, hostile and revoked
 * proxies, symbols, functions, BigInt, NaN, ±Infinity, -0, lone surrogates,
 * huge strings and arrays, deep nesting, thousands of fields, throwing
 * toString/valueOf/toJSON, `__proto__`/`constructor` keys.
 *
 * Each property checks: capture never throws into the caller; a sentinel
 * written after the hostile records decodes intact (the ring is not
 * corrupted); what reaches the memory sink follows the documented
 * representation; and the accounting identity holds.
 *
 * The generators produce plain descriptions (`Spec`) and the hostile values
 * are built inside the property, so fast-check never has to print a revoked
 * proxy or a cyclic object in a report.
 */
import t from 'tap';
import fc from 'fast-check';
import { pino } from 'pino';
import { types } from 'node:util';
import { isAttributeValue } from '@opentelemetry/core';
import { TraceDispatcher } from '../src/index.js';
import { ORPHAN, RecordDecoder, pinoLineToEvent } from '../src/decoder/record-decoder.js';
import { RecordEncoder, TRUNCATION_MARKER, type IdWords } from '../src/encoder/record-encoder.js';
import { StringTable } from '../src/encoder/string-table.js';
import type { EventRecord, FieldValue, Fields, TraceRecord } from '../src/record/trace-record.js';
import { allocateRing } from '../src/ring/layout.js';
import { RingReader } from '../src/ring/ring-reader.js';
import { RingWriter } from '../src/ring/ring-writer.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import { readRing } from './fixtures/ring-records.js';
import { spanStartOf } from './fixtures/span-start.js';

// ── hostile values ────────────────────────────────────────────────────────

const NAMED = [
  'cyclic',
  'throwingGetter',
  'proxyOwnKeysThrows',
  'proxyGetThrows',
  'proxyGopdThrows',
  'proxyGetPrototypeOfThrows',
  'revoked',
  'revokedArray',
  'symbol',
  'symbolKey',
  'function',
  'functionNameThrows',
  'toStringThrows',
  'valueOfThrows',
  'toJSONThrows',
  'protoKeys',
  'hugeString',
  'hugeArray',
  'deep',
  'deepArray',
  'manyFields',
  'proxyArrayLengthNegative',
  'proxyArrayLengthFraction',
  'proxyArrayLengthHuge',
  'proxyArrayGetThrows',
  'arrayWithHoles',
  'nestedArray',
  'date',
  'invalidDate',
  'error',
  'typedArray',
  'map',
  'nullProto',
] as const;
type Named = (typeof NAMED)[number];

type Spec =
  | { k: 'prim'; v: string | number | boolean | bigint | null | undefined }
  | { k: 'named'; name: Named }
  | { k: 'array'; items: Spec[] }
  | { k: 'object'; entries: [string, Spec][] };

const HUGE_STRING = 'x'.repeat(1 << 20) + '\uD800';
const LONE = ['\uD800', '\uDFFF', 'a\uDBFFb', '\uDC00\uD800', 'ok\uD83D'];

const primArb: fc.Arbitrary<Spec> = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 500, maxLength: 700 }),
    fc.constantFrom(...LONE),
    fc.double(),
    fc.integer(),
    fc.constantFrom(NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
  )
  .map((v) => ({ k: 'prim', v }));

const keyArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''),
  fc.string({ minLength: 300, maxLength: 600 }),
);

const specArb: fc.Arbitrary<Spec> = fc.letrec<{ spec: Spec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primArb,
    fc.constantFrom(...NAMED).map((name): Spec => ({ k: 'named', name })),
    fc.array(tie('spec'), { maxLength: 5 }).map((items): Spec => ({ k: 'array', items })),
    fc.array(fc.tuple(keyArb, tie('spec')), { maxLength: 5 }).map((entries): Spec => ({ k: 'object', entries })),
  ),
})).spec;

const fieldsArb = fc.array(fc.tuple(keyArb, specArb), { maxLength: 8 });

function build(spec: Spec): unknown {
  switch (spec.k) {
    case 'prim':
      return spec.v;
    case 'named':
      return buildNamed(spec.name);
    case 'array':
      return spec.items.map(build);
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of spec.entries) Object.defineProperty(o, k, { value: build(v), enumerable: true, configurable: true, writable: true });
      return o;
    }
  }
}

const boom = (): never => {
  throw new Error('hostile');
};

function buildNamed(name: Named): unknown {
  switch (name) {
    case 'cyclic': {
      const a: Record<string, unknown> = { n: 1 };
      a['self'] = a;
      a['list'] = [a, { back: a }];
      return a;
    }
    case 'throwingGetter':
      return Object.defineProperty({ ok: 1 }, 'bad', { get: boom, enumerable: true });
    case 'proxyOwnKeysThrows':
      return new Proxy({ a: 1 }, { ownKeys: boom });
    case 'proxyGetThrows':
      return new Proxy({ a: 1, b: 2 }, { get: boom });
    case 'proxyGopdThrows':
      return new Proxy({ a: 1 }, { getOwnPropertyDescriptor: boom });
    case 'proxyGetPrototypeOfThrows':
      return new Proxy({ a: 1 }, { getPrototypeOf: boom });
    case 'revoked': {
      const r = Proxy.revocable({ a: 1 }, {});
      r.revoke();
      return r.proxy;
    }
    case 'revokedArray': {
      const r = Proxy.revocable([1, 2], {});
      r.revoke();
      return r.proxy;
    }
    case 'symbol':
      return Symbol('s');
    case 'symbolKey':
      return { [Symbol('k')]: 1, [Symbol.iterator]: boom, plain: 2 };
    case 'function':
      return function named(): void {};
    case 'functionNameThrows':
      return Object.defineProperty(() => {}, 'name', { get: boom });
    case 'toStringThrows':
      return { toString: boom, [Symbol.toPrimitive]: boom };
    case 'valueOfThrows':
      return { valueOf: boom };
    case 'toJSONThrows':
      return { toJSON: boom, a: 1 };
    case 'protoKeys':
      return JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"a":1}') as unknown;
    case 'hugeString':
      return HUGE_STRING;
    case 'hugeArray':
      return new Array<number>(100_000).fill(7);
    case 'deep': {
      let v: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 1500; i++) v = { d: v };
      return v;
    }
    case 'deepArray': {
      let v: unknown[] = [1];
      for (let i = 0; i < 1500; i++) v = [v];
      return v;
    }
    case 'manyFields': {
      const o: Record<string, number> = {};
      for (let i = 0; i < 3000; i++) o[`f${i}`] = i;
      return o;
    }
    case 'proxyArrayLengthNegative':
      return new Proxy([1, 2, 3], { get: (target, key, recv) => (key === 'length' ? -5 : Reflect.get(target, key, recv)) });
    case 'proxyArrayLengthFraction':
      return new Proxy([1, 2, 3], { get: (target, key, recv) => (key === 'length' ? 1.5 : Reflect.get(target, key, recv)) });
    case 'proxyArrayLengthHuge':
      return new Proxy([1, 2, 3], { get: (target, key, recv) => (key === 'length' ? 2 ** 40 : Reflect.get(target, key, recv)) });
    case 'proxyArrayGetThrows':
      return new Proxy([1, 2, 3], { get: (target, key, recv) => (key === '1' ? boom() : Reflect.get(target, key, recv)) });
    case 'arrayWithHoles':
      // eslint-disable-next-line no-sparse-arrays
      return [1, , 3];
    case 'nestedArray':
      return [[1, 2], { a: 1 }, 'x'];
    case 'date':
      return new Date(0);
    case 'invalidDate':
      return new Date(NaN);
    case 'error':
      return new TypeError('bad thing');
    case 'typedArray':
      return new Uint8Array([1, 2, 3]);
    case 'map':
      return new Map([['a', 1]]);
    case 'nullProto':
      return Object.assign(Object.create(null) as object, { a: 1 });
  }
}

// ── the documented representation ─────────────────────────────────────────

const MAX_STRING = 512;
const MAX_ARRAY = 1024;

/** Lone surrogates become U+FFFD through UTF-8. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A string slot as delivered: cut at maxStringLength with the marker, well-formed. */
function delivered(s: string, max = MAX_STRING): string {
  return wellFormed(s.length > max ? s.slice(0, max) + TRUNCATION_MARKER + (s.length - max) + ']' : s);
}

const NO = Symbol('unreadable');
const OTHER = Symbol('bounded string');
type Expected = FieldValue | typeof OTHER | Expected[];

/** What an event field holding `v` decodes to; OTHER for "some bounded string". */
function expectedField(v: unknown, top: boolean): Expected {
  switch (typeof v) {
    case 'string':
      return delivered(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return v;
    case 'undefined':
      return null;
    default:
      break;
  }
  if (v === null) return null;
  if (!top) return OTHER;
  try {
    if (!Array.isArray(v)) return OTHER;
    const len = Number(v.length);
    const n = len >= 1 ? Math.min(Math.floor(len), MAX_ARRAY) : 0;
    const out: Expected[] = [];
    for (let i = 0; i < n; i++) out.push(expectedField(v[i], false));
    return out;
  } catch {
    return OTHER;
  }
}

function matches(actual: unknown, expected: Expected): boolean {
  if (expected === OTHER) return typeof actual === 'string' && actual.length <= MAX_STRING + TRUNCATION_MARKER.length + 12;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(actual[i], e));
  }
  return Object.is(actual, expected);
}

/** Own enumerable string keys and their values as the encoder reads them; NO for a throwing read. */
function readFields(obj: unknown): [string, unknown][] | typeof NO {
  const out: [string, unknown][] = [];
  // Fields are an object's properties: a string, a function or a primitive has none.
  if (obj === null || typeof obj !== 'object') return out;
  try {
    for (const key in obj as object) {
      if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
      let v: unknown;
      try {
        v = (obj as Record<string, unknown>)[key];
      } catch {
        v = NO;
      }
      out.push([key, v]);
    }
  } catch {
    return NO;
  }
  return out;
}

/**
 * The SDK's rule for an attribute value as ringtrace applies it: never a proxy
 * (its traps would run on every read), and an array checked only as far as
 * it is recorded. `isAttributeValue` on the value itself walks an array to
 * its end: on a proxy claiming 2^40 elements this oracle hung the test.
 */
function attributeValid(v: unknown): boolean {
  if (typeof v === 'object' && v !== null && types.isProxy(v)) return false;
  return isAttributeValue(Array.isArray(v) ? v.slice(0, MAX_ARRAY) : v);
}

function isFieldValue(v: unknown): boolean {
  const prim = (x: unknown): boolean => x === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof x);
  return prim(v) || (Array.isArray(v) && v.length <= MAX_ARRAY && v.every(prim));
}

/** Check decoded fields against the input object; returns a problem or undefined. */
function checkFields(input: unknown, fields: Fields, where: string): string | undefined {
  for (const key of Object.keys(fields)) {
    if (!isFieldValue(fields[key])) return `${where}: field ${JSON.stringify(key)} is not a field value`;
  }
  const pairs = readFields(input);
  if (pairs === NO) return undefined; // a hostile container: whatever was read, in valid form (checked above)
  const got = Object.keys(fields);
  if (got.length !== pairs.length) return `${where}: ${got.length} fields for ${pairs.length} keys`;
  for (const [key, v] of pairs) {
    const k = delivered(key);
    if (!Object.prototype.hasOwnProperty.call(fields, k)) return `${where}: key ${JSON.stringify(k).slice(0, 60)} missing`;
    const want = v === NO ? '[Throws]' : expectedField(v, true);
    if (!matches(fields[k], want)) return `${where}: field ${JSON.stringify(k).slice(0, 60)} = ${String(fields[k]).slice(0, 80)}`;
  }
  return undefined;
}

// ── in-process: RingWriter + RecordEncoder + RecordDecoder, no worker ─────

function pipeline(capacity = 1 << 22) {
  const sab = allocateRing(capacity);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const encoder = new RecordEncoder(writer, { maxStringLength: MAX_STRING, strings: new StringTable(64) });
  const decoder = new RecordDecoder(reader.bytes);
  const read = (): (TraceRecord | typeof ORPHAN)[] => readRing(reader, decoder);
  return { writer, encoder, read };
}

const IDS: IdWords = { t0: 1, t1: 2, t2: 3, t3: 4, s0: 5, s1: 6 };

t.test('in-process: any event, span and link record round-trips, and the ring stays sound', async (t) => {
  // A small ring (64 KiB) so wrap-around, full-ring drops and oversize all happen.
  const p = pipeline(1 << 16);
  let handle = 0;
  let problems: string[] = [];
  let decodedTotal = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('event', 'span', 'link', 'attr', 'line'), specArb, fieldsArb), { minLength: 1, maxLength: 6 }), (batch) => {
      const before = p.writer.counts();
      const inputs: unknown[] = [];
      for (const [kind, spec, fieldSpecs] of batch) {
        const fields = fieldSpecs.length === 0 && spec.k === 'named' ? build(spec) : build({ k: 'object', entries: fieldSpecs });
        const text = build(spec);
        const str = typeof text === 'string' ? text : 'n';
        let ok: boolean;
        switch (kind) {
          case 'event':
            ok = p.encoder.event(3, 1, str, str, fields as object, null);
            break;
          case 'span':
            ok = p.encoder.spanStart(spanStartOf({ handle: ++handle, startTime: 1, ids: IDS, parent: null, parentRemote: false, traceFlags: 1, spanKind: 0, level: 3, name: str, target: 'tgt', traceState: '', attributes: fields as object, maxAttributes: 128 }));
            break;
          case 'link':
            ok = p.encoder.spanLink(handle, IDS, 1, fields as object, 128);
            break;
          case 'attr':
            ok = p.encoder.spanAttribute(handle, str || 'k', text);
            break;
          default:
            ok = p.encoder.logLine(1, str, IDS);
        }
        if (ok) inputs.push(kind === 'event' ? fields : undefined);
      }
      const sentinel = p.encoder.event(3, 2, 'sentinel', 'after', { n: handle }, null);
      const after = p.writer.counts();
      const offered = after.offered - before.offered;
      const written = after.written - before.written;
      if (offered !== batch.length + 1) problems.push(`offered ${offered} for ${batch.length + 1} calls`);
      if (after.offered !== after.written + after.dropped + after.oversize) problems.push('producer identity');
      const records = p.read();
      decodedTotal += records.length;
      if (records.length !== written) problems.push(`decoded ${records.length}, written ${written}`);
      // One record per call written, in order: event fields follow the representation.
      if (records.length === inputs.length + (sentinel ? 1 : 0)) {
        inputs.forEach((input, j) => {
          const r = records[j];
          if (input === undefined || r === ORPHAN || r?.kind !== 'event') return;
          const problem = checkFields(input, r.fields, 'event');
          if (problem !== undefined) problems.push(problem);
        });
      }
      if (sentinel) {
        const last = records[records.length - 1];
        if (last === ORPHAN || last?.kind !== 'event' || last.message !== 'after' || last.fields['n'] !== handle) problems.push('sentinel lost or corrupt');
      }
      const out = problems;
      problems = [];
      return out.length === 0 || (t.comment(out.join('\n')), false);
    }),
    { numRuns: 200 },
  );
  const c = p.writer.counts();
  t.equal(c.offered, c.written + c.dropped + c.oversize, 'offered == written + dropped + oversize');
  t.equal(decodedTotal, c.written, 'decoded == written');
});

t.test('in-process: arbitrary strings survive as well-formed UTF-8, cut with the marker', async (t) => {
  const p = pipeline(1 << 20);
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 2000 }), fc.constantFrom(...LONE, HUGE_STRING)), (s) => {
      if (!p.encoder.event(3, 1, s, s, { v: s, [`k:${s.slice(0, 20)}`]: [s] }, null)) return false;
      const [r] = p.read() as EventRecord[];
      return r!.target === delivered(s) && r!.message === delivered(s) && r!.fields['v'] === delivered(s);
    }),
    { numRuns: 200 },
  );
  t.pass('every string delivered as documented');
});

// ── through a dispatcher: logger, tracer provider, pino destination ─────────

let d: TraceDispatcher;
let seen = 0;
t.before(async () => {
  d = await TraceDispatcher.start({
    queueCapacity: 1 << 22,
    maxStringLength: MAX_STRING,
    flushIntervalMs: 50,
    sinks: [{ name: 'mem', sink: 'memory', filter: 'trace', options: { limit: 400 } }],
  });
});
t.teardown(() => d.shutdown());

/** Records delivered since the last call (the memory sink keeps the newest `limit`). */
async function fresh(): Promise<TraceRecord[]> {
  await d.flush();
  const c = await d.inspectSink<MemorySinkContents>('mem');
  const total = c.discarded + c.records.length;
  const n = total - seen;
  seen = total;
  return c.records.slice(c.records.length - n).filter((r) => !(r.kind === 'event' && r.target === 'ringtrace'));
}

let sentinelCount = 0;
function sentinel(): number {
  const n = ++sentinelCount;
  d.logger('sentinel').info('sentinel', { n, big: 12345678901234567890n, s: 'é\u{1F600}' });
  return n;
}

function sentinelOk(records: TraceRecord[], n: number): boolean {
  const last = records[records.length - 1];
  return (
    last?.kind === 'event' &&
    last.target === 'sentinel' &&
    last.message === 'sentinel' &&
    last.fields['n'] === n &&
    last.fields['big'] === 12345678901234567890n &&
    last.fields['s'] === 'é\u{1F600}'
  );
}

function safeName(v: unknown): string {
  try {
    return String(v);
  } catch {
    return '?';
  }
}

t.test('events: hostile targets, messages and fields never throw, and decode as documented', async (t) => {
  await fresh();
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(specArb, specArb, fieldsArb, specArb), { minLength: 1, maxLength: 4 }), async (batch) => {
      const before = d.producerStats();
      const sent: { target: string; message: unknown; fields: unknown }[] = [];
      for (const [targetSpec, messageSpec, fieldSpecs, whole] of batch) {
        const target = build(targetSpec);
        const message = build(messageSpec);
        // Sometimes the fields object itself is the hostile value.
        const fields = fieldSpecs.length === 0 ? build(whole) : build({ k: 'object', entries: fieldSpecs });
        try {
          const logger = d.logger(target as string);
          logger.info(message as string, fields as Record<string, unknown>);
          sent.push({ target: logger.target, message, fields });
        } catch (e) {
          t.fail(`threw into the caller: ${safeName(e)}`);
          return false;
        }
      }
      const n = sentinel();
      const after = d.producerStats();
      const written = after.written - before.written;
      const records = await fresh();
      if (after.offered - before.offered !== batch.length + 1) return false;
      if (records.length !== written) return false;
      if (!sentinelOk(records, n)) return false;
      if (written !== batch.length + 1) return true; // something was oversize: the rest is still checked above
      for (let i = 0; i < sent.length; i++) {
        const r = records[i] as EventRecord;
        const s = sent[i]!;
        if (r.kind !== 'event' || r.target !== delivered(s.target)) return false;
        if (typeof s.message === 'string' ? r.message !== delivered(s.message) : typeof r.message !== 'string') return false;
        const problem = checkFields(s.fields, r.fields, 'event');
        if (problem !== undefined) {
          t.comment(problem);
          return false;
        }
      }
      return true;
    }),
    { numRuns: 120 },
  );
  const s = await d.stats();
  t.equal(s.offered, s.written + s.dropped + s.oversize, 'offered == written + dropped + oversize');
});

t.test('spans: hostile tracer names, span names, attributes, event names and link attributes', async (t) => {
  await fresh();
  await fc.assert(
    fc.asyncProperty(specArb, specArb, fieldsArb, specArb, fieldsArb, fieldsArb, specArb, fc.boolean(), async (tracerSpec, nameSpec, attrSpecs, eventNameSpec, eventAttrSpecs, linkAttrSpecs, valueSpec, publish) => {
      if (process.env['HOSTILE_DEBUG']) process.stderr.write(JSON.stringify([tracerSpec, nameSpec, attrSpecs, eventNameSpec, eventAttrSpecs, linkAttrSpecs, valueSpec], (_, v) => (typeof v === 'bigint' ? String(v) : typeof v === 'string' ? v.slice(0, 20) : v)) + '\n');
      const before = d.producerStats();
      let calls = 0;
      try {
        const tracer = d.tracerProvider.getTracer(build(tracerSpec) as string);
        const attributes = build({ k: 'object', entries: attrSpecs }) as Record<string, never>;
        const span = tracer.startSpan(build(nameSpec) as string, { attributes });
        calls++;
        // Published at once (a flush writes a held span's start): its start
        // record then holds exactly the start attributes. Held, it also holds
        // the attributes set before the first event.
        if (publish) await d.flush();
        span.setAttribute(safeName(build(nameSpec)) || 'k', build(valueSpec) as never);
        span.setAttributes(build(valueSpec) as never);
        span.setAttributes(build({ k: 'object', entries: attrSpecs }) as never);
        span.addEvent(build(eventNameSpec) as string, build({ k: 'object', entries: eventAttrSpecs }) as never);
        span.addEvent(build(eventNameSpec) as string, build(valueSpec) as never);
        calls += 2;
        span.addLink({ context: span.spanContext(), attributes: build({ k: 'object', entries: linkAttrSpecs }) as never });
        span.addLink({ context: span.spanContext(), attributes: build(valueSpec) as never });
        span.addLink(build(valueSpec) as never);
        calls += 2;
        span.updateName(build(nameSpec) as string);
        span.recordException(build(valueSpec) as never);
        span.setStatus({ code: 2, message: build(nameSpec) as string });
        span.end();
        calls += 3;
      } catch (e) {
        t.fail(`threw into the caller: ${safeName(e)}`);
        return false;
      }
      const n = sentinel();
      const after = d.producerStats();
      const records = await fresh();
      if (after.offered - before.offered < calls + 1) return false;
      if (records.length !== after.written - before.written) return false;
      if (!sentinelOk(records, n)) return false;
      for (const r of records) {
        if (r.kind === 'event') continue;
        const attrs = 'attributes' in r ? r.attributes : {};
        for (const key of Object.keys(attrs)) {
          const v = attrs[key];
          if (!isFieldValue(v)) return false;
          if (typeof v === 'string' && v.length > MAX_STRING + 40) return false;
        }
        if (r.kind === 'spanStart' && publish) {
          // Valid attributes (the SDK's rule) arrive as themselves; invalid ones are dropped.
          const pairs = readFields(build({ k: 'object', entries: attrSpecs }));
          if (pairs === NO) return false;
          for (const [key, v] of pairs) {
            let valid = false;
            try {
              valid = key !== '' && attributeValid(v);
            } catch {
              valid = false;
            }
            const k = delivered(key);
            if (valid !== Object.prototype.hasOwnProperty.call(r.attributes, k)) {
              t.comment(`span attribute ${JSON.stringify(k).slice(0, 40)}: valid ${valid}`);
              return false;
            }
            if (valid && !matches(r.attributes[k], expectedField(v, true))) return false;
          }
        }
      }
      return true;
    }),
    { numRuns: 80 },
  );
  const s = await d.stats();
  t.equal(s.offered, s.written + s.dropped + s.oversize, 'offered == written + dropped + oversize');
});

t.test('spans: a sparse array of length 2^32-1, an endless iterator and a proxy claiming 2^40 elements do not hang', async (t) => {
  // Each of these made the SDK's isAttributeValue walk for minutes or forever on this thread.
  await fresh();
  const sparse: number[] = [];
  sparse.length = 2 ** 32 - 1;
  sparse[0] = 1;
  const endless = [1, 2];
  Object.defineProperty(endless, Symbol.iterator, {
    value: function* (): Generator<number> {
      for (;;) yield 1;
    },
  });
  const huge = new Proxy([1, 2, 3], { get: (target, key, recv) => (key === 'length' ? 2 ** 40 : Reflect.get(target, key, recv)) });
  const attributes = { sparse, endless, huge };
  const span = d.tracerProvider.getTracer('bounded').startSpan('bounded', { attributes });
  span.setAttribute('again', sparse);
  span.setAttributes(attributes);
  span.addEvent('e', attributes);
  span.addLink({ context: span.spanContext(), attributes });
  span.end();
  const records = await fresh();
  const recorded = [1, ...new Array<null>(MAX_ARRAY - 1).fill(null)];
  const want = { sparse: recorded, endless: [1, 2] };
  const byKind = (kind: TraceRecord['kind']): Fields => {
    const r = records.find((x) => x.kind === kind);
    return r !== undefined && 'attributes' in r ? r.attributes : {};
  };
  // Attributes set before the span is published travel in its start record.
  t.same(byKind('spanStart'), { ...want, again: recorded }, 'start: the first maxArrayLength elements; the proxy dropped');
  t.same(byKind('spanEvent'), want, 'event attributes');
  t.same(byKind('spanLink'), want, 'link attributes');
  t.ok(records.some((r) => r.kind === 'spanEnd'), 'the span ends');
});

t.test('spans: a hostile start, event or end time never throws and is the time of the call', async (t) => {
  await fresh();
  const huge = buildNamed('proxyArrayLengthHuge');
  const revoked = buildNamed('revokedArray');
  const proxiedDate = new Proxy(new Date(0), {});
  const getterThrows = Object.defineProperty([1, 2], '1', { get: boom });
  const times = [[1, [huge]], [1, huge], revoked, proxiedDate, getterThrows, [1, 'x'], buildNamed('proxyGetPrototypeOfThrows')];
  const tracer = d.tracerProvider.getTracer('times');
  const from = Date.now() - 1;
  for (const time of times) {
    try {
      const span = tracer.startSpan('t', { startTime: time as never });
      span.addEvent('e', time as never);
      span.addEvent('e', {}, time as never);
      span.end(time as never);
    } catch (e) {
      t.fail(`threw into the caller: ${safeName(e)}`);
    }
  }
  const to = Date.now() + 1;
  const stamps = (await fresh()).flatMap((r) => ('time' in r && typeof r.time === 'number' ? [r.time] : []));
  t.equal(stamps.length, times.length * 4, 'start, two events and end per span');
  t.ok(
    stamps.every((ms) => ms >= from && ms <= to),
    'each is the time of the call',
  );
});

t.test('pino: hostile objects throw only where pino itself throws; lines decode as documented', async (t) => {
  await fresh();
  const lines: string[] = [];
  const dest = d.pinoDestination();
  const write = dest.write;
  dest.write = function (line: string): void {
    // A line over half the ring (a few huge strings) is counted oversize, not delivered.
    const oversize = d.producerStats().oversize;
    write.call(this, line);
    if (d.producerStats().oversize === oversize) lines.push(line);
  };
  const log = pino({ name: 'hostile', level: 'trace' }, dest);
  const reference = pino({ name: 'hostile', level: 'trace' }, { write: () => {} });
  await fc.assert(
    fc.asyncProperty(fieldsArb, specArb, specArb, async (fieldSpecs, whole, msgSpec) => {
      const obj = fieldSpecs.length === 0 ? build(whole) : build({ k: 'object', entries: fieldSpecs });
      const msg = build(msgSpec);
      let pinoThrows = false;
      try {
        reference.info(obj as object, msg as string);
      } catch {
        pinoThrows = true;
      }
      lines.length = 0;
      try {
        log.info(build(fieldSpecs.length === 0 ? whole : { k: 'object', entries: fieldSpecs }) as object, msg as string);
      } catch (e) {
        if (!pinoThrows) {
          t.fail(`threw into the caller where pino alone does not: ${safeName(e)}`);
          return false;
        }
      }
      const n = sentinel();
      const records = await fresh();
      if (!sentinelOk(records, n)) return false;
      if (records.length !== lines.length + 1) return false;
      for (let i = 0; i < lines.length; i++) {
        const r = records[i] as EventRecord;
        // The line arrives whole (not cut at maxStringLength), as well-formed UTF-8.
        const want = pinoLineToEvent(wellFormed(lines[i]!), 0, undefined, undefined);
        if (r.kind !== 'event' || r.message !== want.message || r.level !== want.level || r.target !== want.target) return false;
        const keys = Object.keys(want.fields);
        if (keys.length !== Object.keys(r.fields).length) return false;
        if (!keys.every((k) => matches(r.fields[k], want.fields[k]!))) return false;
      }
      return true;
    }),
    { numRuns: 80 },
  );
  const s = await d.stats();
  t.equal(s.offered, s.written + s.dropped + s.oversize, 'offered == written + dropped + oversize');
});

t.test('pino: a line longer than maxStringLength arrives whole and parsed, not as an unparseable line', async (t) => {
  await fresh();
  const log = pino({ name: 'long', level: 'trace' }, d.pinoDestination());
  const long = 'é'.repeat(MAX_STRING * 4);
  log.info({ a: long, n: 7 }, 'm'.repeat(MAX_STRING + 1));
  const [r] = (await fresh()) as EventRecord[];
  t.equal(r?.message, 'm'.repeat(MAX_STRING + 1), 'the message whole');
  t.equal(r?.target, 'long', 'the logger name as target');
  t.equal(r?.fields['a'], long, 'a field longer than maxStringLength whole');
  t.equal(r?.fields['n'], 7);
});

t.test('in-process: a pino line is cut only by the ring: whole below half the ring, oversize above', async (t) => {
  const p = pipeline(1 << 16);
  const line = JSON.stringify({ level: 30, name: 'x', msg: 'y'.repeat(20_000) }) + '\n';
  t.ok(p.encoder.logLine(1, line, null), 'a 20 kB line is written');
  const [r] = p.read() as EventRecord[];
  t.equal(r?.message, 'y'.repeat(20_000), 'and parsed whole');
  const before = p.writer.counts().oversize;
  t.notOk(p.encoder.logLine(1, JSON.stringify({ msg: 'z'.repeat(40_000) }), null), 'a line over half the 64 KiB ring is refused');
  t.equal(p.writer.counts().oversize, before + 1, 'and counted oversize');
  t.ok(p.encoder.event(3, 1, 'sentinel', 'after', {}, null));
  t.equal((p.read() as EventRecord[])[0]?.message, 'after', 'the ring is sound after it');
});

t.test('accounting at quiescence: decoded == written, and per sink delivered + filtered + failed == decoded', async (t) => {
  const wide: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) wide[`k${i}`] = 'v'.repeat(MAX_STRING);
  d.logger('wide').info('too wide for half the ring', wide);
  await d.flush();
  const s = await d.stats();
  t.equal(s.offered, s.written + s.dropped + s.oversize, 'offered == written + dropped + oversize');
  t.equal(s.decoded, s.written, 'decoded == written');
  for (const sink of s.sinks) t.equal(sink.delivered + sink.filtered + sink.failed, s.decoded, `${sink.name}: delivered + filtered + failed == decoded`);
  t.ok(s.oversize > 0, 'some hostile records were oversize and counted');
});

t.test('in-process: a proxy array reporting a negative, fractional, huge or NaN length', async (t) => {
  const p = pipeline(1 << 16);
  for (const length of [-5, 1.5, 2 ** 40, NaN, '2', Infinity]) {
    const arr = new Proxy([1, 2, 3], { get: (target, key, recv) => (key === 'length' ? length : Reflect.get(target, key, recv)) });
    t.ok(p.encoder.event(3, 1, 't', 'm', { arr }, null), `length ${String(length)}: written`);
    t.ok(p.encoder.event(3, 1, 'sentinel', 'after', { n: 1 }, null));
    const [r, s] = p.read() as EventRecord[];
    const n = typeof length === 'number' && length >= 1 ? Math.floor(Math.min(length, MAX_ARRAY)) : length === '2' ? 2 : 0;
    const want = Array.from({ length: Math.min(n, MAX_ARRAY) }, (_, i) => (i < 3 ? i + 1 : null));
    t.same(r!.fields['arr'], want, 'whole values, as many as the count says');
    t.equal(s!.message, 'after', 'the next record decodes');
  }
});
