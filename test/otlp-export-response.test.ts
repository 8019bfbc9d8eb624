/**
 * decodeExportResponse (src/sinks/otlp/export-response.ts): the partial
 * success of an OTLP export answer, protobuf (made here with protobufjs and
 * the official .proto files) and JSON; never throws.
 */
import t from 'tap';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeExportResponse } from '../src/sinks/otlp/export-response.js';
import { LogsResponse, TraceResponse } from './fixtures/otlp-schema.js';

const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
const NONE = { rejected: 0, errorMessage: '' };

t.test('protobuf: partial success present, absent, empty', (t) => {
  const traces = TraceResponse.encode({ partialSuccess: { rejectedSpans: 7, errorMessage: 'too old' } }).finish();
  t.same(decodeExportResponse(traces, 'http/protobuf', 'traces'), { rejected: 7, errorMessage: 'too old' });
  t.same(ProtobufTraceSerializer.deserializeResponse(traces), { partialSuccess: { rejectedSpans: 7, errorMessage: 'too old' } }, 'as otlp-transformer reads it');
  const logs = LogsResponse.encode({ partialSuccess: { rejectedLogRecords: 3, errorMessage: 'naïve ✓' } }).finish();
  t.same(decodeExportResponse(logs, 'http/protobuf', 'logs'), { rejected: 3, errorMessage: 'naïve ✓' });
  t.same(ProtobufLogsSerializer.deserializeResponse(logs), { partialSuccess: { rejectedLogRecords: 3, errorMessage: 'naïve ✓' } });
  const big = TraceResponse.encode({ partialSuccess: { rejectedSpans: 2 ** 40 } }).finish();
  t.same(decodeExportResponse(big, 'http/protobuf', 'traces'), { rejected: 2 ** 40, errorMessage: '' }, 'an int64 past 32 bits');
  const negative = TraceResponse.encode({ partialSuccess: { rejectedSpans: -5 } }).finish();
  t.same(decodeExportResponse(negative, 'http/protobuf', 'traces'), { rejected: -5, errorMessage: '' }, 'a negative int64 (the sink clamps it)');
  t.same(decodeExportResponse(TraceResponse.encode({}).finish(), 'http/protobuf', 'traces'), NONE, 'no partial_success');
  t.same(decodeExportResponse(TraceResponse.encode({ partialSuccess: {} }).finish(), 'http/protobuf', 'traces'), NONE, 'an empty partial_success');
  t.same(decodeExportResponse(new Uint8Array(0), 'http/protobuf', 'traces'), NONE, 'an empty body');
  t.end();
});

t.test('protobuf: unknown fields of every wire type are skipped', (t) => {
  const partial = Buffer.from([0x08, 0x04, 0x12, 0x02, 0x68, 0x69, 0x18, 0x01, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2a, 0x01, 0x00, 0x35, 1, 2, 3, 4]);
  const body = Buffer.concat([Buffer.from([0x10, 0x96, 0x01, 0x1a, 0x01, 0x7f]), Buffer.from([0x0a, partial.length]), partial, Buffer.from([0x25, 0, 0, 0, 0])]);
  t.same(decodeExportResponse(body, 'http/protobuf', 'traces'), { rejected: 4, errorMessage: 'hi' });
  t.end();
});

t.test('protobuf: garbage reads as nothing rejected', (t) => {
  const cases: [string, number[]][] = [
    ['a truncated varint', [0x0a, 0x80]],
    ['a length past the end', [0x0a, 0x05, 0x08, 0x01]],
    ['a group wire type', [0x0b, 0x00]],
    ['a truncated fixed64', [0x09, 1, 2]],
    ['a truncated count in partial_success', [0x0a, 0x02, 0x08, 0x80]],
    ['a bad wire type in partial_success', [0x0a, 0x02, 0x0c, 0x00]],
    ['a string past partial_success', [0x0a, 0x03, 0x12, 0x05, 0x41]],
    ['JSON sent as protobuf', [...Buffer.from('{"partialSuccess":{"rejectedSpans":"3"}}')]],
    ['an overlong varint', [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ];
  for (const [name, bytes] of cases) t.same(decodeExportResponse(Uint8Array.from(bytes), 'http/protobuf', 'traces'), NONE, name);
  t.end();
});

t.test('JSON: partial success present, absent, garbage', (t) => {
  t.same(decodeExportResponse(json({ partialSuccess: { rejectedSpans: '12', errorMessage: 'x' } }), 'http/json', 'traces'), { rejected: 12, errorMessage: 'x' }, 'int64 as a string');
  t.same(decodeExportResponse(json({ partialSuccess: { rejectedSpans: 4 } }), 'http/json', 'traces'), { rejected: 4, errorMessage: '' }, 'int64 as a number');
  t.same(decodeExportResponse(json({ partialSuccess: { rejectedLogRecords: '2' } }), 'http/json', 'logs'), { rejected: 2, errorMessage: '' }, 'the logs field');
  t.same(decodeExportResponse(json({ partialSuccess: { rejectedLogRecords: '2' } }), 'http/json', 'traces'), NONE, "the other signal's field is not read");
  t.same(decodeExportResponse(json({}), 'http/json', 'traces'), NONE, 'absent');
  t.same(decodeExportResponse(json({ partialSuccess: null }), 'http/json', 'traces'), NONE, 'null');
  t.same(decodeExportResponse(json(null), 'http/json', 'traces'), NONE, 'a null body');
  t.same(decodeExportResponse(json({ partialSuccess: { rejectedSpans: 'many', errorMessage: 5 } }), 'http/json', 'traces'), NONE, 'wrong types');
  t.same(decodeExportResponse(Buffer.from('{"partialSucc'), 'http/json', 'traces'), NONE, 'truncated JSON');
  t.same(decodeExportResponse(Uint8Array.from([0xff, 0xfe, 0x00]), 'http/json', 'traces'), NONE, 'not text');
  t.end();
});
