/**
 * The worker's tracestate normalisation against the OpenTelemetry API's
 * TraceState (`createTraceState(raw).serialize()`), the oracle the SDK's
 * exporter uses: random headers, valid and invalid members, repeats,
 * whitespace, more than 32 members and more than 512 characters.
 */
import t from 'tap';
import fc from 'fast-check';
import { createTraceState } from '@opentelemetry/api';
import { normalizeTraceState } from '../src/sinks/otlp/trace-state.js';

const oracle = (raw: string): string => createTraceState(raw).serialize();

const keyChar = fc.constantFrom(...'abcxyz019_-*/@A ='.split(''));
const key = fc.oneof(
  fc.constantFrom('a', 'b', 'vendor', 'k1', 'tenant@sys', '1bad', 'Upper', '', 'x@', '@y'),
  fc.string({ unit: keyChar, minLength: 1, maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 250, maxLength: 260 }),
);
const value = fc.oneof(
  fc.constantFrom('v', '1', 'a b', ' lead', 'trail ', '', 'x,y', 'x=y', '~!'),
  fc.string({ unit: fc.integer({ min: 0x1f, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
);
const member = fc.oneof(
  fc.tuple(key, value, fc.constantFrom('', ' ', '\t')).map(([k, v, pad]) => `${pad}${k}=${v}${pad}`),
  fc.constantFrom('', ' ', 'novalue', '=v'),
);
const header = fc.oneof(
  fc.array(member, { maxLength: 8 }).map((m) => m.join(',')),
  fc.array(fc.tuple(fc.integer({ min: 0, max: 45 }), fc.constantFrom('v', 'w')).map(([i, v]) => `k${i}=${v}`), { minLength: 30, maxLength: 45 }).map((m) => m.join(',')),
  fc.string({ maxLength: 40 }),
);

t.test('normalizeTraceState serializes as the API TraceState does', async (t) => {
  fc.assert(
    fc.property(header, (raw) => normalizeTraceState(raw) === oracle(raw)),
    { numRuns: 3000 },
  );
  for (const raw of [
    '',
    'a=1',
    'a=1,b=2',
    ' a=1 , b=2 ',
    'a=1,a=2',
    'b=1,a=2,b=3',
    'bad key=1,ok=2',
    'a=x,y',
    Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).join(','),
    `a=${'x'.repeat(520)}`,
  ]) {
    t.equal(normalizeTraceState(raw), oracle(raw), JSON.stringify(raw.slice(0, 60)));
  }
});
