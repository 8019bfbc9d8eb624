/**
 * The pino and chrome-trace built-in sinks behind an in-process WorkerRuntime
 * (the same code the dispatcher worker runs), so what they write is checked
 * here and their code is measured by the coverage map, which does not see
 * inside worker threads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ChromeTraceSinkInspection } from '../src/sinks/chrome-trace-sink.js';
import { IDS, builtinSpec, runtimeHarness } from './fixtures/worker-harness.js';
import { spanStartOf } from './fixtures/span-start.js';

const INFO = 3;
const WARN = 4;
const CHILD = { ...IDS, s0: 0x11111111, s1: 0x22222222 };

/** A parent span with a child, an event inside the child, and a standalone event. */
function writeScenario(t: Test, h: ReturnType<typeof runtimeHarness>): void {
  const e = h.encoder;
  const t0 = 1_700_000_000_000;
  t.ok(e.spanStart(spanStartOf({ handle: 1, startTime: t0, ids: IDS, parent: null, parentRemote: false, traceFlags: 1, spanKind: 1, level: INFO, name: 'GET /cart', target: 'http', traceState: '', attributes: { 'http.method': 'GET' }, maxAttributes: 128 })));
  t.ok(e.spanStart(spanStartOf({ handle: 2, startTime: t0 + 1, ids: CHILD, parent: IDS, parentRemote: false, traceFlags: 1, spanKind: 0, level: WARN, name: 'db query', target: 'db', traceState: '', attributes: { rows: 3 }, maxAttributes: 128 })));
  t.ok(e.event(WARN, t0 + 2, 'db', 'slow query', { ms: 12.5, big: 2n ** 70n, tags: ['a', 'b'] }, CHILD));
  t.ok(e.spanStatus(2, 2, 'timeout'));
  t.ok(e.spanEnd({ handle: 2, endTime: t0 + 3, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  t.ok(e.spanStatus(1, 1, ''));
  t.ok(e.spanEnd({ handle: 1, endTime: t0 + 4.5, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 }));
  t.ok(e.event(INFO, t0 + 5, 'checkout', 'charged', { amount: 12 }, null));
}

t.test('pino sink: JSON lines for events and span ends, written at flush', async (t) => {
  const file = join(t.testdir(), 'out.log');
  const h = runtimeHarness({ sinks: [builtinSpec('pino', 'pino', 'trace', { destination: file, base: { service: 'shop' } })] });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  writeScenario(t, h);
  await h.app.call({ type: 'flush', position: h.writer.writePosition });
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(
    lines.map((l) => [l['level'], l['msg']]),
    [
      [40, 'slow query'],
      [40, 'db query'],
      [30, 'GET /cart'],
      [30, 'charged'],
    ],
  );
  t.match(lines[0], { service: 'shop', target: 'db', ms: 12.5, big: (2n ** 70n).toString(), tags: ['a', 'b'], trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: '1111111122222222' });
  t.match(lines[1], { span_name: 'db query', status: 'error', status_message: 'timeout', parent_span_id: 'b7ad6b7169203331', trace_flags: '01', duration_ms: 2 });
  t.match(lines[2], { span_name: 'GET /cart', status: 'ok', duration_ms: 4.5 });
  t.notOk('status_message' in lines[2]!, 'an empty status message is left out');
  t.notOk('trace_id' in lines[3]!, 'no span ids outside a span');
  t.equal(lines[3]!['time'], 1_700_000_000_005);
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});

t.test('pino sink: spans: false logs events only; pretty output is readable text', async (t) => {
  const dir = t.testdir();
  const json = join(dir, 'events.log');
  const pretty = join(dir, 'sub', 'pretty.log');
  const h = runtimeHarness({
    sinks: [builtinSpec('events', 'pino', 'trace', { destination: json, spans: false }), builtinSpec('pretty', 'pino', 'trace', { destination: pretty, pretty: true, mkdir: true, colorize: false })],
  });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  writeScenario(t, h);
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
  const events = readFileSync(json, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
  t.same(events, ['slow query', 'charged']);
  const text = readFileSync(pretty, 'utf8');
  t.match(text, /WARN.*slow query/);
  t.match(text, /INFO.*charged/);
  t.match(text, /span_name: "db query"/);
  t.notMatch(text, /\u001b\[/, 'no colour codes');
});

t.test('pino sink: bad options name the option', async (t) => {
  const h = runtimeHarness();
  const run = h.runtime.run([]);
  await h.runtime.started;
  for (const [options, name] of [
    ['nope', 'pino options'],
    [{ destination: '' }, 'pino.destination'],
    [{ mkdir: 1 }, 'pino.mkdir'],
    [{ pretty: 'yes' }, 'pino.pretty'],
    [{ colorize: 1 }, 'pino.colorize'],
    [{ spans: null }, 'pino.spans'],
    [{ base: [] }, 'pino.base'],
  ] as const) {
    const reply = await h.app.request({ type: 'addSink', spec: builtinSpec('p', 'pino', 'trace', options) });
    t.match(reply, { ok: false, error: { sinkName: 'p', message: new RegExp(name.replace('.', '\\.')) } }, name);
  }
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});

t.test('chrome-trace sink: complete events per span, instant events, metadata, unfinished spans at close', async (t) => {
  const dir = t.testdir();
  const byTrace = join(dir, 'trace.json');
  const byTarget = join(dir, 'nested', 'target.json');
  const h = runtimeHarness({
    resource: { 'service.name': 'shop' },
    sinks: [builtinSpec('trace', 'chrome-trace', 'trace', { path: byTrace }), builtinSpec('target', 'chrome-trace', 'trace', { path: byTarget, lanes: 'target', mkdir: true, processName: 'proc', maxOpenSpans: 1 })],
  });
  const run = h.runtime.run(h.seed.sinks);
  await h.runtime.started;
  writeScenario(t, h);
  // Left open at shutdown: written as unfinished.
  t.ok(h.encoder.spanStart(spanStartOf({ handle: 3, startTime: 1_700_000_000_006, ids: { ...IDS, s0: 3, s1: 3 }, parent: null, parentRemote: false, traceFlags: 1, spanKind: 0, level: INFO, name: 'open at exit', target: 'jobs', traceState: '', attributes: undefined, maxAttributes: 128 })));
  t.ok(h.encoder.spanStart(spanStartOf({ handle: 4, startTime: 1_700_000_000_007, ids: { ...IDS, s0: 4, s1: 4 }, parent: null, parentRemote: false, traceFlags: 1, spanKind: 0, level: INFO, name: 'also open', target: 'jobs', traceState: '', attributes: undefined, maxAttributes: 128 })));
  await h.app.call({ type: 'flush', position: h.writer.writePosition });
  const mid = await h.app.call<ChromeTraceSinkInspection>({ type: 'inspect', name: 'trace' });
  t.equal(mid.path, byTrace);
  t.ok(mid.eventsWritten > 0, 'streamed at flush');
  const final = await h.app.call<{ sinks: { name: string; closed: boolean }[] }>({ type: 'shutdown', position: h.writer.writePosition });
  await run;
  t.ok(final.sinks.every((s) => s.closed));

  const parse = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: Record<string, unknown>[] } | Record<string, unknown>[];
  const eventsOf = (file: string) => {
    const doc = parse(file);
    return Array.isArray(doc) ? doc : doc.traceEvents;
  };
  const trace = eventsOf(byTrace);
  const spans = trace.filter((e) => e['ph'] === 'X');
  t.same(spans.map((e) => e['name']).sort(), ['GET /cart', 'also open', 'db query', 'open at exit']);
  const cart = spans.find((e) => e['name'] === 'GET /cart')!;
  t.equal(cart['dur'], 4500, 'microseconds');
  t.match(trace.find((e) => e['ph'] === 'M' && e['name'] === 'process_name'), { args: { name: 'shop' } });
  t.ok(
    trace.some((e) => e['ph'] === 'i' && e['name'] === 'charged'),
    'a standalone event is an instant event',
  );
  const target = eventsOf(byTarget);
  t.match(target.find((e) => e['ph'] === 'M' && e['name'] === 'process_name'), { args: { name: 'proc' } });
  const threadNames = target.filter((e) => e['ph'] === 'M' && e['name'] === 'thread_name').map((e) => (e['args'] as { name: string }).name);
  t.ok(['http', 'db', 'jobs'].every((n) => threadNames.some((x) => x.startsWith(n))), 'one lane per target');
});

t.test('chrome-trace sink: a missing path names the option', async (t) => {
  const h = runtimeHarness();
  const run = h.runtime.run([]);
  await h.runtime.started;
  const reply = await h.app.request({ type: 'addSink', spec: builtinSpec('c', 'chrome-trace', 'trace', {}) });
  t.match(reply, { ok: false, error: { sinkName: 'c', message: /path/ } });
  await h.app.call({ type: 'shutdown', position: h.writer.writePosition });
  await run;
});
