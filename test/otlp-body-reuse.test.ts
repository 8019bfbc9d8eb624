/**
 * The OTLP encoders hand out request bodies from memory they take back once
 * a request settled (`release`): a held body is never reused, a released one
 * is, once, and memory the encoder did not make is ignored.
 */
import t from 'tap';
import { OtlpTraceEncoder } from '../src/sinks/otlp/trace-encoder.js';
import { SpanAssembler, type AssembledSpan } from '../src/sinks/span-assembler.js';
import type { Fields, SpanInfo } from '../src/record/trace-record.js';

let next = 1;
function spans(n: number): AssembledSpan[] {
  const out: AssembledSpan[] = [];
  const assembler = new SpanAssembler((s) => out.push(s), undefined, 'test');
  for (let i = 0; i < n; i++) {
    const span: SpanInfo = {
      traceId: 'ab'.repeat(16), spanId: (next++).toString(16).padStart(16, '0'), parentSpanId: undefined, parentIsRemote: false,
      traceFlags: 1, traceState: '', name: `op ${i}`, target: 'app', level: 'info', spanKind: 0, startTime: 1_700_000_000_000 + i,
    };
    assembler.consume({ kind: 'spanStart', span, time: span.startTime, attributes: Object.assign(Object.create(null) as Fields, { n: i }) });
    assembler.consume({ kind: 'spanEnd', span, time: span.startTime + 1, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 });
  }
  return out;
}

t.test('a body is reused only after release, and once', async (t) => {
  const encoder = new OtlpTraceEncoder({ 'service.name': 'reuse' }, 'http/protobuf');
  const a = encoder.encode(spans(40));
  const aCopy = Buffer.from(a);
  const b = encoder.encode(spans(40));
  t.not(b.buffer, a.buffer, 'a held body is not reused');
  t.same(Buffer.from(a), aCopy, 'and not written over');
  encoder.release(a);
  encoder.release(a);
  const c = encoder.encode(spans(40));
  t.equal(c.buffer, a.buffer, 'a released body is reused');
  const d = encoder.encode(spans(40));
  t.not(d.buffer, a.buffer, 'a body released twice is reused once');
  t.not(d.buffer, b.buffer);
  encoder.release(new Uint8Array(1 << 20));
  const e = encoder.encode(spans(40));
  t.ok(e.buffer !== a.buffer && e.buffer !== b.buffer && e.buffer !== d.buffer, 'memory the encoder did not make is ignored');
  // The reused body holds exactly the new request.
  const fresh = new OtlpTraceEncoder({ 'service.name': 'reuse' }, 'http/protobuf');
  next -= 40;
  t.same(Buffer.from(fresh.encode(spans(40))).length, e.length, 'sized to its own request');
});
