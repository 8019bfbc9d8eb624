// A piscina pool traced end to end: the main thread starts the dispatcher,
// each pool thread attaches to it (resize.js), and `tracedPool` carries the
// active span into every task, so the pool's spans are children of `batch`.
// Every record goes to an NDJSON file (first argument, default
// ./piscina-trace.ndjson); the last line printed sums up each thread.
import { Piscina } from 'piscina';
import { trace } from '@opentelemetry/api';
import { TraceDispatcher, tracedPool } from 'ringtrace';

const file = process.argv[2] ?? './piscina-trace.ndjson';
const dispatcher = await TraceDispatcher.start({
  serviceName: 'thumbnails',
  sinks: [{ name: 'file', sink: 'ndjson', filter: 'info', options: { destination: file } }],
});
dispatcher.install();

const pool = tracedPool(new Piscina({ filename: new URL('./resize.js', import.meta.url).href, minThreads: 2, maxThreads: 2 }));
const images = Array.from({ length: 20 }, (_, i) => ({ name: `photo-${i}.jpg`, width: 4000 + i }));

const sizes = await trace.getTracer('thumbnails').startActiveSpan('batch', async (span) => {
  const out = await Promise.all(images.map((image) => pool.run(image, { name: 'resize' })));
  span.end();
  return out;
});
// Each thread as the dispatcher sees it (an ended thread's ring is drained and released, its counts kept in the totals).
const { threads } = await dispatcher.stats();
await pool.destroy();
const stats = await dispatcher.shutdown();
console.log(`${sizes.length} thumbnails; records written per thread:`, threads.map((t) => `${t.threadName} ${t.written}`).join(', '));
console.log(`in all: ${stats.written} written, ${stats.decoded} decoded, ${stats.dropped} dropped`);
console.log(JSON.stringify({ file, threads: threads.map((t) => ({ id: t.threadId, name: t.threadName, written: t.written, dropped: t.dropped })), written: stats.written, decoded: stats.decoded, dropped: stats.dropped }));
