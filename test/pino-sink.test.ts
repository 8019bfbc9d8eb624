import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import createPinoSink from '../src/sinks/pino-sink.js';
import { writeSpan } from './fixtures/span-writer.js';

t.test('events and span ends as pino JSON lines, levels mapped, ids included', async (t) => {
  const path = join(t.testdir(), 'nested', 'app.log');
  const d = await TraceDispatcher.start({
    sinks: [{ name: 'pino', sink: 'pino', filter: 'debug,noisy=off', options: { destination: path, mkdir: true, base: { service: 'shop' } } }],
  });
  const t0 = 1_700_000_000_000;
  const span = writeSpan(d.encoder, { name: 'GET /cart', target: 'http', start: t0, end: t0 + 12.5, status: { code: 2, message: 'upstream down' } });
  d.logger('checkout').debug('priced', { amount: 12, big: 2n ** 70n });
  d.logger('checkout').error('charge failed', { code: 'E42' });
  d.logger('checkout').trace('below the filter');
  d.logger('noisy').error('filtered out');
  await d.flush();
  // Written at the flush, before shutdown.
  t.ok(readFileSync(path, 'utf8').includes('"msg":"charge failed"'), 'lines are on disk after a flush');
  await d.shutdown();

  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 3, 'one span end and two events; the rest filtered');
  const [spanLine, debug, error] = lines;
  t.match(spanLine, {
    level: 30,
    time: t0 + 13,
    service: 'shop',
    msg: 'GET /cart',
    span_name: 'GET /cart',
    target: 'http',
    trace_id: span.traceId,
    span_id: span.spanId,
    trace_flags: '01',
    duration_ms: 12.5,
    status: 'error',
    status_message: 'upstream down',
  });
  t.match(debug, { level: 20, msg: 'priced', target: 'checkout', amount: 12, big: (2n ** 70n).toString() }, 'debug is 20; bigint as a string');
  t.notOk('trace_id' in debug!, 'no ids outside a span');
  t.match(error, { level: 50, msg: 'charge failed', code: 'E42' }, 'error is 50');
});

t.test('pretty output through pino-pretty', async (t) => {
  const path = join(t.testdir(), 'pretty.log');
  const d = await TraceDispatcher.start({ sinks: [{ name: 'pino', sink: 'pino', filter: 'info', options: { destination: path, pretty: true, colorize: false } }] });
  const t0 = Date.now();
  writeSpan(d.encoder, { name: 'db.query', target: 'db', start: t0, end: t0 + 3, status: { code: 1 } });
  d.logger('checkout').warn('card declined', { attempt: 2 });
  await d.shutdown();
  const text = readFileSync(path, 'utf8');
  t.match(text, /INFO: db\.query\n/, 'a span end as a readable line');
  t.match(text, /duration_ms: 3\n/);
  t.match(text, /status: "ok"/);
  t.match(text, /WARN: card declined\n/);
  t.match(text, /attempt: 2/);
  t.notMatch(text, /^\{/m, 'not JSON');
});

t.test('options are validated, naming the option and the value', async (t) => {
  t.throws(() => createPinoSink({ destination: '' }, { name: 'p' }), { name: 'TypeError', message: /pino\.destination.*""/ });
  t.throws(() => createPinoSink({ pretty: 'yes' as unknown as boolean }, { name: 'p' }), { name: 'TypeError', message: /pino\.pretty.*"yes"/ });
  t.throws(() => createPinoSink({ spans: 1 as unknown as boolean }, { name: 'p' }), { message: /pino\.spans.*1/ });
  t.throws(() => createPinoSink({ base: [] as unknown as Record<string, string> }, { name: 'p' }), { message: /pino\.base/ });
});
