// Uses the custom sink in examples/custom-sink/slow-span-sink.js. Run from the
// repository root after `npm run build`:
//
//   node examples/custom-sink/app.js [report-file]
//
// A relative `module` path is resolved against the current directory.
import { SpanStatusCode } from '@opentelemetry/api';
import { TraceDispatcher } from 'ringtrace';

const report = process.argv[2] ?? 'slow-spans.log';

const dispatcher = await TraceDispatcher.start({
  sinks: [
    {
      name: 'slow-spans',
      module: './examples/custom-sink/slow-span-sink.js',
      // Everything at info and above, but nothing from the noisy health checks.
      filter: 'info,health=off',
      options: { path: report, thresholdMs: 20 },
    },
  ],
});

// The global tracer provider and context manager, so that events made inside
// an active span carry its trace and span ids.
dispatcher.install();
const tracer = dispatcher.tracerProvider.getTracer('shop');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function handle(route, workMs) {
  return tracer.startActiveSpan(route, async (span) => {
    await sleep(workMs);
    if (workMs > 40) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'too slow' });
      dispatcher.logger('shop').error(`${route} timed out`);
    }
    span.end();
  });
}

await handle('GET /fast', 1);
await handle('GET /slow', 30);
await handle('GET /slower', 50);
await handle('GET /fast', 2);
dispatcher.tracerProvider.getTracer('health').startSpan('GET /healthz').end();
dispatcher.logger('health').error('filtered out: health=off');

await dispatcher.flush();
const counts = await dispatcher.inspectSink('slow-spans');
const stats = await dispatcher.shutdown();
const sink = stats.sinks.find((s) => s.name === 'slow-spans');
console.log(JSON.stringify({ counts, delivered: sink.delivered, filtered: sink.filtered, failed: sink.failed }));
