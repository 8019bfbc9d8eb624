// The pool's worker file. It attaches this thread to the main thread's
// dispatcher (a ring of its own) and installs the thread's globals; under
// `node --import ringtrace/register` those two lines are not needed.
// `tracedTask` runs each task inside the context `tracedPool` carried.
import { trace } from '@opentelemetry/api';
import { TraceDispatcher, tracedTask } from 'ringtrace';

(await TraceDispatcher.attach()).install();
const tracer = trace.getTracer('resize');

export const resize = tracedTask((image) =>
  tracer.startActiveSpan('resize', { attributes: { 'image.name': image.name } }, (span) => {
    const width = Math.round(image.width / 20);
    tracer.startActiveSpan('encode', (encode) => {
      encode.setAttribute('image.width', width);
      encode.end();
    });
    span.end();
    return width;
  }),
);
