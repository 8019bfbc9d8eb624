/**
 * OTLP protobuf encoding cost per span: ringtrace's OtlpTraceEncoder on
 * assembled spans vs @opentelemetry/otlp-transformer's ProtobufTraceSerializer
 * on the equivalent ReadableSpans (built before timing, as the SDK exporter
 * has them). Batches of 512 realistic spans: a name, a target, 3 attributes,
 * one event on 10 %. Run after `npm run build`: node bench/otlp-encode.js
 */
import { createTraceState } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { emptyFields } from '../dist/src/record/fields.js';
import { OtlpTraceEncoder } from '../dist/src/sinks/otlp/trace-encoder.js';

const BATCH = 512;
const RESOURCE = { 'service.name': 'checkout', 'telemetry.sdk.name': 'ringtrace', 'telemetry.sdk.language': 'nodejs', 'process.pid': 4242 };
const TARGETS = ['http', 'db', 'app'];
const ROUTES = ['/api/orders', '/api/users/:id', '/health', '/api/cart'];

function hex(n, seed) {
  let s = '';
  for (let i = 0; i < n; i++) s += ((seed * 2654435761 + i * 40503) >>> (i % 24) & 15).toString(16);
  return s;
}

/** Fields as the worker's decoder makes them (fast objects with an empty, null-prototype prototype). */
function fields(entries) {
  const out = emptyFields();
  for (const [k, v] of entries) out[k] = v;
  return out;
}

function spans() {
  const out = [];
  const t0 = Date.now() + 0.25;
  for (let i = 0; i < BATCH; i++) {
    const start = t0 + i * 1.37;
    out.push({
      traceId: hex(32, i >> 3),
      spanId: hex(16, i + 1),
      parentSpanId: i % 8 === 0 ? undefined : hex(16, i),
      parentIsRemote: false,
      traceFlags: 1,
      traceState: '',
      name: `GET ${ROUTES[i % ROUTES.length]}`,
      target: TARGETS[i % TARGETS.length],
      spanKind: i % 8 === 0 ? 1 : 0,
      startTime: start,
      endTime: start + 0.5 + (i % 7) * 0.113,
      attributes: fields([['http.request.method', 'GET'], ['http.response.status_code', 200], ['url.path', ROUTES[i % ROUTES.length]]]),
      events: i % 10 === 0 ? [{ time: start + 0.1, name: 'cache.miss', attributes: fields([['key', `k${i}`]]), droppedAttributesCount: 0 }] : [],
      links: [],
      statusCode: 0,
      statusMessage: '',
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      incomplete: false,
      incompleteReason: undefined,
    });
  }
  return out;
}

function hrTime(ms) {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6))];
}

function readable(batch) {
  const resource = resourceFromAttributes(RESOURCE);
  const scopes = new Map(TARGETS.map((name) => [name, { name }]));
  return batch.map((s) => {
    const ctx = { traceId: s.traceId, spanId: s.spanId, traceFlags: s.traceFlags, traceState: s.traceState === '' ? undefined : createTraceState(s.traceState) };
    const parent = s.parentSpanId === undefined ? undefined : { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: s.traceFlags, isRemote: s.parentIsRemote };
    return {
      name: s.name,
      kind: s.spanKind,
      spanContext: () => ctx,
      parentSpanContext: parent,
      startTime: hrTime(s.startTime),
      endTime: hrTime(s.endTime),
      duration: hrTime(s.endTime - s.startTime),
      ended: true,
      status: { code: s.statusCode },
      attributes: { ...s.attributes },
      links: [],
      events: s.events.map((e) => ({ time: hrTime(e.time), name: e.name, attributes: { ...e.attributes }, droppedAttributesCount: 0 })),
      resource,
      instrumentationScope: scopes.get(s.target),
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}

/**
 * ns per span: the best of `rounds` rounds of `iterations` batches, in this
 * thread's CPU time (user + system), so that time the process spends
 * descheduled on a shared machine is not counted.
 */
function measure(encode, rounds = 7, iterations = 200) {
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < iterations; i++) sink += encode().length;
    const used = process.cpuUsage(t);
    const ns = ((used.user + used.system) * 1000) / (iterations * BATCH);
    if (r > 0) best = Math.min(best, ns); // the first round warms up
  }
  if (sink === 0) throw new Error('nothing encoded');
  return best;
}

const batch = spans();
const sdkSpans = readable(batch);
const encoder = new OtlpTraceEncoder(RESOURCE, 'http/protobuf');
const ours = encoder.encode(batch);
const theirs = ProtobufTraceSerializer.serializeRequest(sdkSpans);
const equal = Buffer.from(ours).equals(Buffer.from(theirs));

const ringtraceNs = measure(() => encoder.encode(batch));
const sdkNs = measure(() => ProtobufTraceSerializer.serializeRequest(sdkSpans));
console.log(`otlp-encode: ${BATCH} spans a batch, node ${process.version}, CPU time, best of 6 rounds`);
console.log(`  ringtrace OtlpTraceEncoder          ${ringtraceNs.toFixed(0).padStart(6)} ns/span`);
console.log(`  otlp-transformer ProtobufTraceSerializer ${sdkNs.toFixed(0).padStart(6)} ns/span`);
console.log(`  ratio (transformer / ringtrace)     ${(sdkNs / ringtraceNs).toFixed(2)}x`);
console.log(`  bytes/span ${(ours.length / BATCH).toFixed(1)} vs ${(theirs.length / BATCH).toFixed(1)}; bodies byte-equal: ${equal}`);
