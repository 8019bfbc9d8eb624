/**
 * examples/zero-code runs as its README says: only `--import
 * ringtrace/register` and OTEL_* variables (against dist/, `npm run build`
 * first). A receiver on loopback gets the request's spans, one trace, and
 * the pino line as a log record with the SERVER span's ids.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { otlpReceiver, attr } from './fixtures/otlp-receiver.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const built = existsSync(`${root}dist/src/zero-code/register.js`);

t.test('the zero-code example exports its spans and logs over OTLP', { skip: built ? false : 'dist/ not built (npm run build)' }, async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  // From the checkout, `ringtrace/register` resolves to this package itself (a self-reference).
  const child = spawn(process.execPath, ['--import', 'ringtrace/register', 'examples/zero-code/server.js'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', OTEL_SERVICE_NAME: 'orders', OTEL_EXPORTER_OTLP_ENDPOINT: r.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let stdout = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`the example exited early: ${stderr}`)));
  });
  const body = await new Promise<string>((resolve, reject) => {
    get(`${url}/order?sku=tea`, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  t.same(JSON.parse(body), { ok: true });
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0, 'the example closed on SIGTERM and ended normally');
  t.equal(stderr, '', 'no warning');
  const spans = r.spans();
  const servers = spans.filter((s) => s.item.kind === 2);
  const client = spans.find((s) => s.item.kind === 3);
  t.equal(servers.length, 2, 'the order request and the stock request');
  t.ok(client, 'the call to the stock service');
  t.equal(new Set(spans.map((s) => s.item.traceId)).size, 1, 'one trace');
  t.equal(attr(spans[0]!.resource, 'service.name'), 'orders');
  const orderSpan = servers.find((s) => s.item.parentSpanId === undefined || s.item.parentSpanId === '');
  t.ok(orderSpan, 'the order request is the root');
  t.equal(client!.item.parentSpanId, orderSpan!.item.spanId);
  const log = r.logs().find((l) => l.item.body?.['stringValue'] === 'order placed');
  t.ok(log, 'the pino line as a log record');
  t.equal(log!.item.traceId, orderSpan!.item.traceId);
  t.equal(log!.item.spanId, orderSpan!.item.spanId, 'with the SERVER span\'s id');
  t.equal(attr(log!.item.attributes, 'sku'), 'tea');
});
