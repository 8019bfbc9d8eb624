/**
 * The context startActiveSpan runs its function in (src/capture/span-context.ts):
 * it must behave exactly as `trace.setSpan(parent, span)` — the span active,
 * every other value of the parent visible, contexts immutable, derived
 * contexts (setValue, deleteValue, propagation) correct — and a chain of
 * layers must stay short however deep the nesting.
 */
import t from 'tap';
import { ROOT_CONTEXT, context, createContextKey, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import { MAX_DEPTH, contextWithSpan } from '../src/capture/span-context.js';
import { TraceDispatcher } from '../src/index.js';

const K = createContextKey('ringtrace test key');
const OTHER = createContextKey('ringtrace other key');

let d: TraceDispatcher;
t.before(async () => {
  d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'debug' }] });
  d.install();
});
t.teardown(() => d.shutdown());

const tracer = () => trace.getTracer('span-context');

t.test('inside startActiveSpan: the span is active and the parent context values are kept', async (t) => {
  const parent = ROOT_CONTEXT.setValue(K, 'from the parent');
  let inside: Context | undefined;
  let span: Span | undefined;
  context.with(parent, () =>
    tracer().startActiveSpan('s', (s) => {
      span = s;
      inside = context.active();
      s.end();
    }),
  );
  t.equal(trace.getSpan(inside!), span, 'the span is the active one');
  t.equal(inside!.getValue(K), 'from the parent', "the parent's value is visible");
  t.equal(inside!.getValue(OTHER), undefined, 'an unset key is undefined');
  t.equal(trace.getSpan(parent), undefined, 'the parent is unchanged');
});

t.test('deriving from it makes ordinary contexts and leaves it unchanged', async (t) => {
  const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
  const layer = contextWithSpan(ROOT_CONTEXT.setValue(K, 1), span);
  const withOther = layer.setValue(OTHER, 2);
  t.same([trace.getSpan(withOther), withOther.getValue(K), withOther.getValue(OTHER)], [span, 1, 2], 'setValue: the span, the old value and the new one');
  t.equal(layer.getValue(OTHER), undefined, 'the layer itself did not change');
  const noSpan = trace.deleteSpan(layer);
  t.same([trace.getSpan(noSpan), noSpan.getValue(K)], [undefined, 1], 'deleteSpan: the span gone, the rest kept');
  t.equal(trace.getSpan(layer), span, 'the layer still has its span');
  const overK = layer.setValue(K, 'replaced');
  t.same([overK.getValue(K), layer.getValue(K)], ['replaced', 1], 'a value set over the parent shadows it only in the new context');
  const other = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', traceFlags: 1 });
  t.equal(trace.getSpan(trace.setSpan(layer, other)), other, 'trace.setSpan over it sets the new span');
  t.equal(layer.deleteValue(K).getValue(K), undefined, 'deleteValue of a parent key');
});

t.test('propagation injects the active span of a layer', async (t) => {
  const carrier: Record<string, string> = {};
  tracer().startActiveSpan('s', (s) => {
    propagation.inject(context.active(), carrier);
    t.equal(carrier['traceparent'], `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`);
    s.end();
  });
});

t.test('deep nesting: every level sees its span, its parent and the root values; chains stay short', async (t) => {
  const depth = 3 * MAX_DEPTH + 2;
  const seen: { span: Span; parentOk: boolean; k: unknown; layers: number }[] = [];
  const nest = (level: number, parent: Span | undefined): void => {
    if (level === depth) return;
    tracer().startActiveSpan(`level ${level}`, (s) => {
      const ctx = context.active();
      // The chain below this context: layers carry a `depth`, ordinary contexts do not.
      const layers = ((ctx as { depth?: number }).depth ?? -1) + 1;
      const child = tracer().startSpan('probe');
      const parentOk = (child as unknown as { parentS0: number; parentS1: number }).parentS0 === (s as unknown as { s0: number }).s0;
      child.end();
      seen.push({ span: s, parentOk: parentOk && (parent === undefined || trace.getSpan(ctx) === s), k: ctx.getValue(K), layers });
      nest(level + 1, s);
      s.end();
    });
  };
  context.with(ROOT_CONTEXT.setValue(K, 'root value'), () => nest(0, undefined));
  t.equal(seen.length, depth);
  t.ok(
    seen.every((x) => x.parentOk),
    'a span started in each level has that level as its parent',
  );
  t.ok(
    seen.every((x) => x.k === 'root value'),
    'the root value is visible at every level',
  );
  t.ok(Math.max(...seen.map((x) => x.layers)) <= MAX_DEPTH, `never more than ${MAX_DEPTH} layers in a chain`);
  t.ok(
    seen.some((x) => x.layers === 0),
    'past the limit the API context is made',
  );
});
