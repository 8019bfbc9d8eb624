import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Fields, SpanInfo, TraceRecord } from '../src/record/trace-record.js';
import createNdjsonSink, { NdjsonSink, recordToJson } from '../src/sinks/ndjson-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'ringtrace-ndjson-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function fields(entries: [string, Fields[string]][]): Fields {
  const f = Object.create(null) as Fields;
  for (const [k, v] of entries) f[k] = v;
  return f;
}

/** Write records through a sink to a fresh file and parse the lines back. */
function roundTrip(records: TraceRecord[]): Record<string, unknown>[] {
  const file = join(dir, `out-${Math.random().toString(36).slice(2)}.ndjson`);
  const sink = new NdjsonSink({ destination: file });
  for (const r of records) sink.consume(r);
  sink.flush();
  sink.close();
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const span: SpanInfo = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  parentSpanId: '00f067aa0ba902b7',
  parentIsRemote: false,
  traceFlags: 1,
  traceState: '',
  name: 'GET /x',
  target: 'http',
  level: 'info',
  spanKind: 1,
  startTime: 1000.25,
};

// Keys and values fast-json-stringify would drop or coerce if they went through a declared schema.
const hostileKeys: [string, Fields[string]][] = [
  ['with space', 1],
  ['quo"te', 'q'],
  ['back\\slash', true],
  ['new\nline', false],
  ['üñíçødé 中文 🚀', 'ok'],
  ['__proto__', 'not a prototype'],
  ['constructor', 7],
  ['', 'empty key'],
  ['kind', 'a field named like a line property'],
  ['big', 123456789012345678901234567890n],
  ['negBig', -1n],
  ['nan', NaN],
  ['inf', Infinity],
  ['ninf', -Infinity],
  ['float', 1.5],
  ['int', 42],
  ['zero', 0],
  ['nul', null],
  ['str', 'line\nbreak "quoted" \u2028 \u0000 é'],
  ['numberish', '12'],
  ['arr', [1, 'a', null, true, 2n, NaN, 1.25]],
  ['empty', []],
];
const expected: Record<string, unknown> = {};
for (const [k, v] of hostileKeys) Object.defineProperty(expected, k, { value: v, enumerable: true, writable: true, configurable: true });
expected['big'] = '123456789012345678901234567890';
expected['negBig'] = '-1';
expected['nan'] = 'NaN';
expected['inf'] = 'Infinity';
expected['ninf'] = '-Infinity';
expected['arr'] = [1, 'a', null, true, '2', 'NaN', 1.25];

t.test('arbitrary field keys and value types come through intact', async (t) => {
  const [line] = roundTrip([
    { kind: 'event', time: 1.5, level: 'warn', target: 'app', message: 'hi', fields: fields(hostileKeys), traceId: undefined, spanId: undefined },
  ]);
  const f = line!['fields'] as Record<string, unknown>;
  t.same(Object.keys(f).sort(), hostileKeys.map(([k]) => k).sort(), 'no key dropped');
  for (const [k] of hostileKeys) t.same(Object.getOwnPropertyDescriptor(f, k)?.value, Object.getOwnPropertyDescriptor(expected, k)!.value, `key ${JSON.stringify(k)}`);
  t.equal(typeof f['numberish'], 'string', 'a numeric string stays a string');
  t.equal(typeof f['int'], 'number');
  t.same(
    { kind: line!['kind'], time: line!['time'], level: line!['level'], target: line!['target'], message: line!['message'] },
    { kind: 'event', time: 1.5, level: 'warn', target: 'app', message: 'hi' },
  );
  t.notOk('traceId' in line!, 'absent ids are left out');
});

t.test('every record kind has its documented line fields, attributes intact', async (t) => {
  const attrs = fields(hostileKeys);
  const lines = roundTrip([
    { kind: 'spanStart', span, time: 1000.25, attributes: attrs },
    { kind: 'spanAttributes', span, attributes: attrs },
    { kind: 'spanEvent', span, time: 1001, name: 'evt', attributes: attrs },
    { kind: 'spanLink', span, traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8), traceFlags: 0, attributes: attrs },
    { kind: 'spanStatus', span, code: 2, message: 'bad' },
    { kind: 'spanName', span, name: 'GET /y' },
    { kind: 'spanEnd', span, time: 1010.75, droppedAttributesCount: 1, droppedEventsCount: 2, droppedLinksCount: 3 },
    { kind: 'event', time: 5, level: 'info', target: 'in.span', message: 'm', fields: fields([]), traceId: span.traceId, spanId: span.spanId },
  ]);
  const base = { target: 'http', traceId: span.traceId, spanId: span.spanId, spanName: 'GET /x' };
  t.match(lines[0], { ...base, kind: 'spanStart', time: 1000.25, level: 'info', parentSpanId: '00f067aa0ba902b7', spanKind: 1 });
  t.match(lines[1], { ...base, kind: 'spanAttributes' });
  t.match(lines[2], { ...base, kind: 'spanEvent', time: 1001, name: 'evt' });
  t.match(lines[3], { ...base, kind: 'spanLink', linkTraceId: 'aa'.repeat(16), linkSpanId: 'bb'.repeat(8), linkTraceFlags: 0 });
  t.match(lines[4], { ...base, kind: 'spanStatus', code: 2, message: 'bad' });
  t.match(lines[5], { ...base, kind: 'spanName', name: 'GET /y' });
  t.match(lines[6], { ...base, kind: 'spanEnd', time: 1010.75, startTime: 1000.25, duration: 10.5, droppedAttributesCount: 1, droppedEventsCount: 2, droppedLinksCount: 3 });
  t.match(lines[7], { kind: 'event', traceId: span.traceId, spanId: span.spanId, target: 'in.span' });
  for (const i of [0, 1, 2, 3]) {
    const a = lines[i]!['attributes'] as Record<string, unknown>;
    t.same(Object.keys(a).sort(), hostileKeys.map(([k]) => k).sort(), `${String(lines[i]!['kind'])}: every attribute key`);
    t.same(a['arr'], expected['arr']);
    t.equal(Object.getOwnPropertyDescriptor(a, '__proto__')?.value, 'not a prototype');
  }
});

t.test('recordToJson keeps __proto__ an own property', async (t) => {
  const j = recordToJson({ kind: 'spanAttributes', span, attributes: fields([['__proto__', 1]]) });
  const a = j['attributes'] as object;
  t.same(Object.keys(a), ['__proto__']);
  t.equal(Object.getPrototypeOf(a), Object.prototype, 'the prototype was not replaced');
});

t.test('large volumes are written in chunks and all arrive', async (t) => {
  const records: TraceRecord[] = [];
  for (let i = 0; i < 5000; i++) {
    records.push({ kind: 'event', time: i, level: 'info', target: 't', message: 'x'.repeat(50), fields: fields([['i', i]]), traceId: undefined, spanId: undefined });
  }
  const lines = roundTrip(records);
  t.equal(lines.length, 5000);
  t.same(lines.map((l) => (l['fields'] as { i: number }).i), records.map((_, i) => i));
});

t.test('destination options', async (t) => {
  t.throws(() => createNdjsonSink({ destination: '' }, { name: 'n' }), TypeError);
  t.throws(() => new NdjsonSink({ destination: 5 as unknown as string }), /ndjson\.destination/);
  const nested = join(dir, 'a', 'b', 'out.ndjson');
  const sink = createNdjsonSink({ destination: nested, mkdir: true }, { name: 'n' });
  sink.consume({ kind: 'event', time: 0, level: 'info', target: 't', message: 'm', fields: fields([]), traceId: undefined, spanId: undefined });
  await sink.close?.();
  t.equal(readFileSync(nested, 'utf8').split('\n').length, 2, 'mkdir created the folder');
  for (const destination of ['stdout', 'stderr', undefined]) {
    const s = createNdjsonSink(destination === undefined ? undefined : { destination }, { name: 'n' });
    s.flush(); // nothing pending: nothing written
    t.ok(s, `${destination ?? 'default'} destination`);
  }
});
