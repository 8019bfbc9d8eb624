/**
 * pino writing into the ring: `pino(options, dispatcher.pinoDestination())`.
 * Each line becomes an event record, levels mapped, target from the logger's
 * name, fields and bindings kept, the active span's ids attached.
 */
import t from 'tap';
import { pino } from 'pino';
import { trace } from '@opentelemetry/api';
import { TraceDispatcher } from '../src/index.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import type { EventRecord } from '../src/record/trace-record.js';

let d: TraceDispatcher;
t.before(async () => {
  d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace,muted=off' }] });
  d.install();
});
t.teardown(() => d.shutdown());

async function events(target?: string): Promise<EventRecord[]> {
  await d.flush();
  const { records } = await d.inspectSink<MemorySinkContents>('mem');
  return records.filter((r): r is EventRecord => r.kind === 'event' && (target === undefined || r.target === target));
}

t.test('levels, target, message and fields', async (t) => {
  const log = pino({ name: 'http', level: 'trace' }, d.pinoDestination());
  log.trace('t');
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  log.fatal('f');
  log.info({ user: 'ann', n: 3, ok: true, tags: ['a', 'b'], nested: { deep: { x: 1 } }, nil: null }, 'with fields');
  const ev = await events('http');
  t.same(
    ev.slice(0, 6).map((e) => [e.message, e.level]),
    [
      ['t', 'trace'],
      ['d', 'debug'],
      ['i', 'info'],
      ['w', 'warn'],
      ['e', 'error'],
      ['f', 'error'],
    ],
    '10→trace … 50→error, 60 (fatal)→error',
  );
  const f = ev[6]!;
  t.equal(f.message, 'with fields');
  t.equal(f.target, 'http', "the logger's name is the target");
  t.equal(f.fields['user'], 'ann');
  t.equal(f.fields['n'], 3);
  t.equal(f.fields['ok'], true);
  t.same(f.fields['tags'], ['a', 'b']);
  t.equal(f.fields['nil'], null);
  t.same(JSON.parse(String(f.fields['nested'])), { deep: { x: 1 } }, 'nested objects as JSON text');
  t.equal(typeof f.fields['pid'], 'number', "pino's own bindings are kept");
  t.notOk('msg' in f.fields || 'level' in f.fields || 'name' in f.fields || 'time' in f.fields, 'msg, level, name, time are not fields');
  t.ok(Math.abs(f.time - Date.now()) < 60_000, 'time is epoch ms');
});

t.test('no name: target pino; child bindings kept', async (t) => {
  const log = pino({ level: 'info', base: undefined }, d.pinoDestination());
  log.info('anonymous');
  const child = pino({ name: 'svc', level: 'info' }, d.pinoDestination()).child({ requestId: 'r-1', tenant: { id: 7 } });
  child.info({ extra: 1 }, 'from child');
  const anon = await events('pino');
  t.equal(anon.at(-1)?.message, 'anonymous');
  const c = (await events('svc')).at(-1)!;
  t.equal(c.message, 'from child');
  t.equal(c.fields['requestId'], 'r-1');
  t.same(JSON.parse(String(c.fields['tenant'])), { id: 7 });
  t.equal(c.fields['extra'], 1);
});

t.test('a line inside an active span carries its trace and span ids', async (t) => {
  const log = pino({ name: 'corr', level: 'debug' }, d.pinoDestination());
  log.info('outside');
  let ids: [string, string] = ['', ''];
  await trace.getTracer('corr').startActiveSpan('request', async (span) => {
    ids = [span.spanContext().traceId, span.spanContext().spanId];
    await new Promise((r) => setImmediate(r));
    log.debug('inside');
    span.end();
  });
  const ev = await events('corr');
  t.same(
    ev.map((e) => [e.message, e.traceId, e.spanId]),
    [
      ['outside', undefined, undefined],
      ['inside', ...ids],
    ],
  );
});

t.test('lines below every sink level are skipped before the ring', async (t) => {
  const e = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'warn' }] });
  t.teardown(() => e.shutdown());
  const log = pino({ name: 'lvl', level: 'trace' }, e.pinoDestination());
  const before = e.producerStats().offered;
  log.trace('no');
  log.debug('no');
  log.info('no');
  t.equal(e.producerStats().offered, before, 'nothing offered to the ring below warn');
  log.warn('yes');
  log.error('yes too');
  t.equal(e.producerStats().offered - before >= 2, true);
  await e.flush();
  const got = (await e.inspectSink<MemorySinkContents>('mem')).records.filter((r): r is EventRecord => r.kind === 'event');
  t.same(
    got.map((r) => [r.message, r.level]),
    [
      ['yes', 'warn'],
      ['yes too', 'error'],
    ],
  );
  // A target a sink turns off is filtered in the worker.
  const muted = pino({ name: 'muted', level: 'info' }, d.pinoDestination());
  muted.error('never');
  t.equal((await events('muted')).length, 0);
});
