// An HTTP service with no tracing code at all. Start it with ringtrace's
// zero-code entry and the usual OpenTelemetry variables:
//
//   OTEL_SERVICE_NAME=orders \
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
//   node --import ringtrace/register examples/zero-code/server.js
//
// Every request becomes a SERVER span (instrumentation-http), the call to the
// stock service a CLIENT span, and the pino line a log record carrying the
// span's ids (instrumentation-pino), all exported over OTLP.
import http from 'node:http';
import { pino } from 'pino';

const log = pino({ name: 'orders' });

// The "stock service" this one calls: in the same process, to keep the example small.
const stock = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ sku: req.url.slice(1), available: 3 }));
});
await new Promise((resolve) => stock.listen(0, '127.0.0.1', resolve));

function checkStock(sku) {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${stock.address().port}/${sku}`, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const sku = new URL(req.url, 'http://x').searchParams.get('sku') ?? 'tea';
  const { available } = await checkStock(sku);
  log.info({ sku, available }, 'order placed');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: available > 0 }));
});
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`orders listening on http://127.0.0.1:${server.address().port}`);
});

// Close on SIGTERM; ringtrace drains and exports what is left as the process ends.
process.once('SIGTERM', () => {
  server.close();
  stock.close();
});
