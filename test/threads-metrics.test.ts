/**
 * Metrics from several threads: the main thread and two attached threads add
 * to the same counter and histogram series, each into its own shared-memory
 * region; the dispatcher worker sums the regions, so a scrape shows every
 * thread's adds, exactly.
 */
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import type { PrometheusSinkInspection } from '../src/sinks/prometheus-sink.js';
import { parseExposition, sampleValue } from './fixtures/prometheus-text.js';

const FIXTURE = new URL('./fixtures/metrics-thread.ts', import.meta.url);

t.test('counts from several threads: one series, the sum of every thread\'s adds', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'prom', sink: 'prometheus', options: { port: 0 } }] });
  t.teardown(() => d.shutdown());
  const counts = [30_000, 50_000];
  const workers = counts.map((count, i) => new Worker(FIXTURE, { workerData: { count, label: `m${i}` } }));
  const ready = await Promise.all(
    workers.map((w) => new Promise<{ threadId: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })),
  );
  t.equal(new Set(ready.map((r) => r.threadId)).size, 2, 'two attached threads');
  const meter = d.meterProvider.getMeter('app');
  const jobs = meter.createCounter('jobs');
  const took = meter.createHistogram('job.duration', { unit: 's', advice: { explicitBucketBoundaries: [1] } });
  const MAIN = 20_000;
  for (let i = 0; i < MAIN; i++) {
    jobs.add(1, { queue: 'q' });
    took.record(0.5, { queue: 'q' });
  }
  const total = MAIN + counts[0]! + counts[1]!;
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  const m = parseExposition(await (await fetch(url)).text());
  t.equal(sampleValue(m, 'jobs_total', { queue: 'q' }), total, `the counter: ${total}, the three threads' adds summed`);
  t.equal(sampleValue(m, 'job_duration_seconds_count', { queue: 'q', otel_scope_name: 'app' }), total, 'the histogram count summed');
  t.equal(sampleValue(m, 'job_duration_seconds_bucket', { queue: 'q', otel_scope_name: 'app', le: '1' }), total, 'its bucket summed');
  t.ok(Math.abs(sampleValue(m, 'job_duration_seconds_sum', { queue: 'q', otel_scope_name: 'app' })! - total * 0.5) < 1e-6, 'its sum summed');
  await Promise.all(workers.map((w) => new Promise((resolve) => {
    w.once('exit', resolve);
    w.postMessage('end');
  })));
  // Once the worker has dropped both rings, their regions' last values stay in the sums: a counter never goes down.
  for (let i = 0; i < 200 && (await d.stats()).threads.length > 1; i++) await new Promise((r) => setTimeout(r, 25));
  t.equal((await d.stats()).threads.length, 1, 'both threads ended and their rings dropped');
  const after = parseExposition(await (await fetch(url)).text());
  t.equal(sampleValue(after, 'jobs_total', { queue: 'q' }), total, 'the counter keeps the ended threads\' adds');
  t.equal(sampleValue(after, 'job_duration_seconds_count', { queue: 'q', otel_scope_name: 'app' }), total, 'and the histogram');
  jobs.add(5, { queue: 'q' });
  const later = parseExposition(await (await fetch(url)).text());
  t.equal(sampleValue(later, 'jobs_total', { queue: 'q' }), total + 5, 'and adds after them add on');
});
