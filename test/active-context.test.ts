/**
 * The active context a span reads: through the context manager install()
 * registered while it is the global one, and through the API's global again
 * once the API has retired it (`context.disable()`, `uninstall()`), for a
 * recorded target and a filtered-out one (whose non-recording span carries
 * the parent's context).
 */
import t from 'tap';
import { ROOT_CONTEXT, TraceFlags, context, trace, type SpanContext, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TraceDispatcher } from '../src/index.js';
import { RingSpan } from '../src/capture/ring-span.js';

const PARENT: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true };
const inParent = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(PARENT));

let d: TraceDispatcher;
t.before(async () => {
  d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'debug,ctx.off=off' }] });
});
t.teardown(async () => {
  context.disable();
  await d.shutdown();
});

/** What spans of `tracer` see of `PARENT` when it is active, and outside it. */
function seen(tracer: Tracer): { traceId: string; recording: boolean; outside: string } {
  const span = context.with(inParent, () => tracer.startSpan('child'));
  span.end();
  const outside = tracer.startSpan('alone');
  outside.end();
  return { traceId: span.spanContext().traceId, recording: span instanceof RingSpan, outside: outside.spanContext().traceId };
}

t.test('installed, then retired by the API: spans read whichever manager is the global one', async (t) => {
  const on = d.tracerProvider.getTracer('ctx.on');
  const off = d.tracerProvider.getTracer('ctx.off');
  d.install({ replace: true });
  t.match(seen(on), { traceId: PARENT.traceId, recording: true }, 'recorded child of the active parent, installed');
  t.same(seen(off), { traceId: PARENT.traceId, recording: false, outside: '00000000000000000000000000000000' }, 'filtered out: the parent context carried, none outside it');
  t.not(seen(on).outside, PARENT.traceId, 'outside the parent a new trace');

  // The API retires install()'s manager; another one is registered in its place.
  context.disable();
  const other = new AsyncLocalStorageContextManager().enable();
  t.ok(context.setGlobalContextManager(other), 'another manager registered');
  t.match(seen(on), { traceId: PARENT.traceId, recording: true }, 'recorded child, read through the new manager');
  t.match(seen(off), { traceId: PARENT.traceId, recording: false }, 'filtered out, read through the new manager');
  context.disable();

  d.install({ replace: true });
  d.uninstall();
  const after = new AsyncLocalStorageContextManager().enable();
  t.ok(context.setGlobalContextManager(after), 'a manager registered after uninstall');
  t.match(seen(on), { traceId: PARENT.traceId, recording: true }, 'after uninstall(): read through the API again');
  t.match(seen(off), { traceId: PARENT.traceId, recording: false });
});
