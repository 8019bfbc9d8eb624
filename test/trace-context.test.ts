/**
 * W3C Trace Context to the letter: the tracestate rules, one test each. On
 * any violation the whole tracestate is discarded and a valid traceparent is
 * kept. Each case is also run through @opentelemetry/core's
 * W3CTraceContextPropagator where it is lenient, to show what is stricter.
 */
import t, { type Test } from 'tap';
import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { StrictTraceContextPropagator, defaultPropagator, traceStateViolation, MAX_TRACESTATE_MEMBERS } from '../src/index.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const strict = new StrictTraceContextPropagator();
const core = new W3CTraceContextPropagator();

function extract(tracestate: string | string[] | undefined, propagator: StrictTraceContextPropagator | W3CTraceContextPropagator = strict): SpanContext | undefined {
  const carrier: Record<string, string | string[]> = { traceparent: TRACEPARENT };
  if (tracestate !== undefined) carrier['tracestate'] = tracestate;
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
}

/** The strict propagator drops the whole tracestate and keeps the traceparent. */
function discarded(t: Test, header: string | string[]): void {
  const sc = extract(header);
  t.ok(sc, 'the traceparent is kept');
  t.equal(sc!.traceId, '0af7651916cd43dd8448eb211c80319c');
  t.equal(sc!.spanId, 'b7ad6b7169203331');
  t.equal(sc!.traceFlags, 1);
  t.equal(sc!.isRemote, true);
  t.equal(sc!.traceState, undefined, 'the whole tracestate is discarded');
}

function kept(t: Test, header: string | string[], serialized: string): void {
  const sc = extract(header);
  t.equal(sc?.traceState?.serialize(), serialized);
}

t.test('valid lists are kept as given, members in order', async (t) => {
  kept(t, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  kept(t, ' rojo=1 ,\tcongo=2\t', 'rojo=1,congo=2');
  kept(t, ['rojo=1', 'congo=2'], 'rojo=1,congo=2');
  kept(t, 'rojo=1,,  ,congo=2', 'rojo=1,congo=2');
  kept(t, 'a_b-c*d/e9=v', 'a_b-c*d/e9=v');
  kept(t, 'k=a value with spaces', 'k=a value with spaces');
  t.equal(traceStateViolation('rojo=1'), undefined);
});

t.test('key: must start with a lowercase letter (simple key)', async (t) => {
  discarded(t, 'rojo=1,Congo=2');
  discarded(t, 'rojo=1,9congo=2');
  discarded(t, 'rojo=1,_congo=2');
  t.match(traceStateViolation('Congo=2'), /key "Congo"/);
});

t.test('key: only lcalpha, DIGIT, _ - * / after the first character', async (t) => {
  discarded(t, 'rojo=1,con.go=2');
  discarded(t, 'rojo=1,conGo=2');
  discarded(t, 'rojo=1,con go=2');
  t.equal(extract('rojo=1,con.go=2', core)?.traceState?.serialize(), 'rojo=1', 'core keeps the other members');
});

t.test('key: at most 256 characters', async (t) => {
  kept(t, `${'a'.repeat(256)}=1`, `${'a'.repeat(256)}=1`);
  discarded(t, `rojo=1,${'a'.repeat(257)}=1`);
});

t.test('multi-tenant key: tenant@system', async (t) => {
  kept(t, 'fw529a3039@dt=1,0tenant@sys=2', 'fw529a3039@dt=1,0tenant@sys=2');
  // The tenant may start with a digit, the system may not.
  discarded(t, 'tenant@9sys=1');
  discarded(t, 'tenant@Sys=1');
  discarded(t, '@sys=1');
  discarded(t, 'tenant@=1');
  discarded(t, 'a@b@c=1');
});

t.test('multi-tenant key: tenant at most 241, system at most 14 characters', async (t) => {
  kept(t, `${'t'.repeat(241)}@${'s'.repeat(14)}=1`, `${'t'.repeat(241)}@${'s'.repeat(14)}=1`);
  discarded(t, `${'t'.repeat(242)}@s=1`);
  discarded(t, `t@${'s'.repeat(15)}=1`);
});

t.test('value: printable ASCII except "," and "="; last character not a space', async (t) => {
  discarded(t, 'rojo=a=b');
  discarded(t, 'rojo=caf\u00e9');
  discarded(t, 'rojo=tab\there');
  discarded(t, 'rojo=\u007f');
  discarded(t, 'rojo=');
  discarded(t, 'rojo');
  t.equal(traceStateViolation('rojo'), 'list-member "rojo" has no "="');
  t.ok(extract('rojo=a=b,congo=2', core)?.traceState, 'core keeps a tracestate');
});

t.test('value: at most 256 characters', async (t) => {
  kept(t, `rojo=${'v'.repeat(256)}`, `rojo=${'v'.repeat(256)}`);
  discarded(t, `rojo=${'v'.repeat(257)}`);
});

t.test('at most 32 list-members', async (t) => {
  const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`);
  kept(t, members(MAX_TRACESTATE_MEMBERS).join(','), members(32).join(','));
  kept(t, members(32).join(',,'), members(32).join(',')); // empty members do not count
  discarded(t, members(33).join(','));
  t.equal(extract(members(33).join(','), core)?.traceState?.serialize().split(',').length, 32, 'core truncates to 32 instead');
});

t.test('keys are unique', async (t) => {
  discarded(t, 'rojo=1,congo=2,rojo=3');
  discarded(t, ['rojo=1', 'rojo=2']);
});

t.test('an invalid traceparent extracts nothing, whatever the tracestate', async (t) => {
  const ctx = strict.extract(ROOT_CONTEXT, { traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01', tracestate: 'rojo=1' }, defaultTextMapGetter);
  t.equal(trace.getSpanContext(ctx), undefined);
  t.equal(strict.extract(ROOT_CONTEXT, {}, defaultTextMapGetter), ROOT_CONTEXT);
});

t.test('inject writes traceparent and tracestate; fields() names both', async (t) => {
  const ctx = strict.extract(ROOT_CONTEXT, { traceparent: TRACEPARENT, tracestate: 'rojo=1,congo=2' }, defaultTextMapGetter);
  const out: Record<string, string> = {};
  strict.inject(ctx, out, defaultTextMapSetter);
  t.same(out, { traceparent: TRACEPARENT, tracestate: 'rojo=1,congo=2' });
  t.same(strict.fields(), ['traceparent', 'tracestate']);
});

t.test("install()'s default propagator is the strict one, with baggage", async (t) => {
  const p = defaultPropagator();
  const ctx = p.extract(ROOT_CONTEXT, { traceparent: TRACEPARENT, tracestate: 'Rojo=1', baggage: 'user=42' }, defaultTextMapGetter);
  t.equal(trace.getSpanContext(ctx)?.traceState, undefined);
  t.equal(trace.getSpanContext(ctx)?.spanId, 'b7ad6b7169203331');
  const out: Record<string, string> = {};
  p.inject(ctx, out, defaultTextMapSetter);
  t.equal(out['baggage'], 'user=42', 'baggage goes through');
  t.equal(out['tracestate'], undefined);
  t.same(p.fields().sort(), ['baggage', 'traceparent', 'tracestate']);
});
