import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import createChromeTraceSink from '../src/sinks/chrome-trace-sink.js';
import { openSpan, writeSpan } from './fixtures/span-writer.js';

interface TraceEvent {
  ph: string;
  name: string;
  cat?: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: string;
  args?: Record<string, unknown>;
}

t.test('spans as complete events, span and standalone events as instants, lanes named', async (t) => {
  const path = join(t.testdir(), 'trace.json');
  const d = await TraceDispatcher.start({ sinks: [{ name: 'trace', sink: 'chrome-trace', filter: 'trace', options: { path, processName: 'shop' } }] });
  const t0 = 1_700_000_000_000.25;
  const root = openSpan(d.encoder, { name: 'GET /cart', target: 'http', start: t0, attributes: { 'http.method': 'GET' } });
  // Two concurrent children that overlap without nesting: they cannot share a lane.
  const a = writeSpan(d.encoder, { name: 'db.query', target: 'db', parent: root, start: t0 + 1, end: t0 + 6, events: [{ name: 'retry', time: t0 + 2, attributes: { attempt: 2 } }] });
  writeSpan(d.encoder, { name: 'cache.get', target: 'cache', parent: root, start: t0 + 4, end: t0 + 8, status: { code: 2, message: 'miss' } });
  root.end(t0 + 10, { code: 1 });
  d.logger('checkout').warn('standalone', { amount: 3n });
  await d.flush();
  // Streamed: what was flushed is on disk before shutdown, the array not yet closed.
  const partial = readFileSync(path, 'utf8');
  t.match(partial, /"name":"GET \/cart"/, 'flushed spans are on disk before shutdown');
  t.notMatch(partial, /\]\s*$/, 'the array is still open');
  await d.shutdown();

  const events = JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[];
  const spans = events.filter((e) => e.ph === 'X');
  t.same(spans.map((e) => e.name).sort(), ['GET /cart', 'cache.get', 'db.query']);
  const get = spans.find((e) => e.name === 'GET /cart')!;
  t.equal(get.ts, 1_700_000_000_000_250, 'ts in microseconds');
  t.equal(get.dur, 10_000, 'dur in microseconds');
  t.equal(get.args?.status, 'ok');
  t.equal(get.args?.['http.method'], 'GET', 'attributes as args');
  t.equal(get.args?.trace_id, root.traceId);
  const db = spans.find((e) => e.name === 'db.query')!;
  const cache = spans.find((e) => e.name === 'cache.get')!;
  t.equal(db.args?.parent_span_id, root.spanId);
  t.equal(cache.args?.status, 'error');
  t.equal(cache.args?.status_message, 'miss');
  t.equal(db.tid, get.tid, 'a child shares its parent lane');
  t.not(cache.tid, db.tid, 'an overlapping sibling gets a lane of its own');
  const retry = events.find((e) => e.ph === 'i' && e.name === 'retry')!;
  t.match(retry, { ts: 1_700_000_000_002_250, tid: db.tid, s: 't', args: { attempt: 2, span_id: a.spanId } }, 'span event on its span lane');
  const standalone = events.find((e) => e.ph === 'i' && e.name === 'standalone')!;
  t.match(standalone, { cat: 'checkout', args: { level: 'warn', amount: '3' } }, 'standalone event, bigint as a string');
  const meta = events.filter((e) => e.ph === 'M');
  t.ok(meta.some((e) => e.name === 'process_name' && e.args?.name === 'shop'), 'process name');
  const laneNames = meta.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
  t.ok(laneNames.includes(`trace ${root.traceId.slice(0, 8)} db.query`), 'trace lane named');
  t.ok(laneNames.includes(`trace ${root.traceId.slice(0, 8)} cache.get (2)`), 'second lane of the same trace');
  for (const e of events) t.ok(e.pid === 1 && Number.isInteger(e.tid), 'pid and tid on every event') || t.fail(JSON.stringify(e));
});

t.test('lanes per target; spans open at shutdown are written, marked unfinished', async (t) => {
  const path = join(t.testdir(), 'trace.json');
  const d = await TraceDispatcher.start({ sinks: [{ name: 'trace', sink: 'chrome-trace', options: { path, lanes: 'target' } }] });
  const t0 = Date.now();
  writeSpan(d.encoder, { name: 'one', target: 'alpha', start: t0, end: t0 + 1 });
  writeSpan(d.encoder, { name: 'two', target: 'beta', start: t0, end: t0 + 1 });
  openSpan(d.encoder, { name: 'never ends', target: 'alpha', start: t0 + 2 });
  // The last time the sink sees: the unfinished span is drawn up to it.
  writeSpan(d.encoder, { name: 'last', target: 'beta', start: t0 + 10, end: t0 + 50 });
  const stats = await d.shutdown();
  const events = JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[];
  const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [e.tid, e.args?.name]));
  const one = events.find((e) => e.name === 'one')!;
  const two = events.find((e) => e.name === 'two')!;
  t.equal(names.get(one.tid), 'alpha');
  t.equal(names.get(two.tid), 'beta');
  const open = events.find((e) => e.name === 'never ends')!;
  t.equal(open.ph, 'X');
  t.equal(open.args?.['ringtrace.unfinished'], true, 'marked unfinished');
  t.equal(open.dur, 48_000, 'an unfinished span reaches the last time seen (t0 + 50 ms), in microseconds');
  t.equal(stats.sinks[0]!.failed, 0);
});

t.test('a process killed after a flush leaves a file readable up to that flush', async (t) => {
  const path = join(t.testdir(), 'crash.json');
  const fixture = fileURLToPath(new URL('./fixtures/chrome-trace-crash.ts', import.meta.url));
  const child = spawnSync(process.execPath, [...process.execArgv, fixture, path], { encoding: 'utf8', timeout: 30_000 });
  t.equal(child.signal, 'SIGKILL', `the child really died (${child.stderr})`);
  const text = readFileSync(path, 'utf8');
  t.throws(() => JSON.parse(text), 'no closing bracket: not yet valid JSON on its own');
  // What the Trace Event format allows and what viewers do: close the array.
  const events = JSON.parse(text + '\n]') as TraceEvent[];
  t.same(events.filter((e) => e.ph === 'X').map((e) => e.name).sort(), ['flushed', 'flushed child']);
});

t.test('options are validated, naming the option and the value', async (t) => {
  t.throws(() => createChromeTraceSink(undefined, { name: 'c' }), { name: 'TypeError', message: /chrome-trace options/ });
  t.throws(() => createChromeTraceSink({ path: '' }, { name: 'c' }), { name: 'TypeError', message: /chrome-trace\.path.*""/ });
  t.throws(() => createChromeTraceSink({ path: 'x.json', lanes: 'span' as 'trace' }, { name: 'c' }), { name: 'RangeError', message: /chrome-trace\.lanes.*"span"/ });
  t.throws(() => createChromeTraceSink({ path: 'x.json', maxOpenSpans: 0 }, { name: 'c' }), { name: 'RangeError', message: /chrome-trace\.maxOpenSpans.*0/ });
  await t.rejects(TraceDispatcher.start({ sinks: [{ name: 'ct', sink: 'chrome-trace' }] }), { name: 'SinkError', message: /sink "ct".*chrome-trace options/ });
});
