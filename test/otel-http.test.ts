/**
 * A real instrumentation end to end: `@opentelemetry/instrumentation-http`
 * over ringtrace installed as the global provider, two HTTP services on
 * loopback, one calling the other. The scenario runs in a child process
 * (test/fixtures/http-scenario.ts) so that the instrumentation is enabled
 * before `http` is first loaded, as an application would do it.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import type { SpanEndRecord, SpanStartRecord, TraceRecord } from '../src/record/trace-record.js';

const SCENARIO = fileURLToPath(new URL('./fixtures/http-scenario.ts', import.meta.url));

interface Outcome {
  reply: { status: number; body: string };
  wire: string | undefined;
  frontPort: number;
  backPort: number;
  records: TraceRecord[];
}

function runScenario(): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // The same loader flags as this process, so the fixture runs from TypeScript source.
    execFile(process.execPath, [...process.execArgv, SCENARIO], { timeout: 60_000, env: { ...process.env, OTEL_SEMCONV_STABILITY_OPT_IN: '' } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`scenario failed: ${error.message}\n${stderr}`));
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Outcome);
      } catch {
        reject(new Error(`scenario printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

t.test('a client span and a server span per hop, one trace, parentage over the wire', async (t) => {
  const out = await runScenario();
  t.same(out.reply, { status: 200, body: 'front got back ok' }, 'the services answered');
  const starts = out.records.filter((r): r is SpanStartRecord => r.kind === 'spanStart');
  const ends = out.records.filter((r): r is SpanEndRecord => r.kind === 'spanEnd');
  t.equal(starts.length, 4, 'client → front server → front client → back server');
  t.equal(ends.length, 4, 'every span ended');
  for (const s of starts) t.equal(s.span.target, '@opentelemetry/instrumentation-http', 'the instrumentation scope is the target');

  const attrs = (id: string): Record<string, unknown> => {
    const merged: Record<string, unknown> = {};
    for (const r of out.records) {
      if ((r.kind === 'spanStart' || r.kind === 'spanAttributes') && r.span.spanId === id) Object.assign(merged, r.attributes);
    }
    return merged;
  };
  const port = (a: Record<string, unknown>) => a['server.port'] ?? a['net.peer.port'] ?? a['net.host.port'];
  const clients = starts.filter((s) => s.span.spanKind === SpanKind.CLIENT);
  const servers = starts.filter((s) => s.span.spanKind === SpanKind.SERVER);
  t.equal(clients.length, 2);
  t.equal(servers.length, 2);
  const toBack = clients.find((c) => port(attrs(c.span.spanId)) === out.backPort);
  const backServer = servers.find((s) => port(attrs(s.span.spanId)) === out.backPort || String(attrs(s.span.spanId)['http.target'] ?? attrs(s.span.spanId)['url.path']).startsWith('/inventory'));
  if (toBack === undefined || backServer === undefined) throw new Error(`cannot find the front→back hop in ${JSON.stringify(starts.map((s) => attrs(s.span.spanId)))}`);
  const frontServer = servers.find((s) => s !== backServer)!;
  const rootClient = clients.find((c) => c !== toBack)!;

  t.equal(backServer.span.traceId, toBack.span.traceId, 'client and server span share the trace id');
  t.equal(backServer.span.parentSpanId, toBack.span.spanId, "the server span's parent is the client span");
  t.equal(backServer.span.parentIsRemote, true, 'a remote parent, extracted from the header');
  t.equal(out.wire, `00-${toBack.span.traceId}-${toBack.span.spanId}-01`, 'the traceparent header on the wire');
  t.equal(toBack.span.parentSpanId, frontServer.span.spanId, 'the outgoing call is a child of the incoming request (context across the handler)');
  t.equal(frontServer.span.parentSpanId, rootClient.span.spanId);
  t.equal(rootClient.span.parentSpanId, undefined);
  t.equal(new Set(starts.map((s) => s.span.traceId)).size, 1, 'one trace end to end');

  // Attributes per the semantic conventions the instrumentation emits (old or stable names).
  const c = attrs(toBack.span.spanId);
  const s = attrs(backServer.span.spanId);
  t.equal(c['http.method'] ?? c['http.request.method'], 'GET', 'client: method');
  t.equal(c['http.status_code'] ?? c['http.response.status_code'], 200, 'client: status code');
  t.match(String(c['http.url'] ?? c['url.full']), `http://127.0.0.1:${out.backPort}/inventory?sku=42`, 'client: url');
  t.equal(s['http.method'] ?? s['http.request.method'], 'GET', 'server: method');
  t.equal(s['http.status_code'] ?? s['http.response.status_code'], 200, 'server: status code');
  t.match(String(s['http.target'] ?? s['url.path']), '/inventory', 'server: target');
  t.equal(toBack.span.name, 'GET');
  const endsBy = new Map(ends.map((e) => [e.span.spanId, e]));
  t.ok((endsBy.get(backServer.span.spanId)?.time ?? 0) >= backServer.time, 'ends after it starts');
});
