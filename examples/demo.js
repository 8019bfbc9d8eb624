// The quick-start demo: a tiny "checkout" service traced through ringtrace.
// Spans (OpenTelemetry API), structured events and pino lines go through the
// ring to a worker thread, which prints them on the console and writes every
// record to demo-trace.ndjson.
import { trace, SpanStatusCode } from '@opentelemetry/api';
import { pino } from 'pino';
import { TraceDispatcher } from 'ringtrace';

const dispatcher = await TraceDispatcher.start({
  serviceName: 'checkout-demo',
  sinks: [
    // Readable console output, from the worker thread.
    { name: 'console', sink: 'pino', filter: 'info', options: { pretty: true } },
    // Every record, one JSON object per line.
    { name: 'file', sink: 'ndjson', filter: 'debug', options: { destination: './demo-trace.ndjson' } },
  ],
});
dispatcher.install(); // the global OpenTelemetry tracer provider, context manager and propagators

const tracer = trace.getTracer('checkout', '1.0.0');
const events = dispatcher.logger('checkout');
const log = pino({ name: 'payments' }, dispatcher.pinoDestination());

async function charge(orderId, amount) {
  return tracer.startActiveSpan('charge card', { attributes: { 'order.id': orderId, amount } }, async (span) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.info({ orderId, amount }, 'card charged'); // carries the span's trace and span ids
    span.end();
  });
}

await tracer.startActiveSpan('POST /checkout', { attributes: { 'http.request.method': 'POST' } }, async (span) => {
  events.info('checkout started', { items: 3, coupon: 'WELCOME' });
  await charge('order-42', 12.5);
  events.debug('cart cleared'); // below the console's filter: only the file gets it
  try {
    throw new Error('inventory service timed out');
  } catch (error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'partial failure' });
    events.warn('inventory check skipped', { reason: error.message });
  }
  span.end();
});

const stats = await dispatcher.shutdown();
console.log(
  `\nringtrace: ${stats.written} records written, ${stats.decoded} decoded, ${stats.dropped} dropped;`,
  stats.sinks.map((s) => `${s.name}: ${s.delivered} delivered, ${s.filtered} filtered`).join('; '),
);
console.log('every record is in ./demo-trace.ndjson');
