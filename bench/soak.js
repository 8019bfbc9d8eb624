/**
 * Soak: the full path at the highest rate the producer can offer, for a
 * while, watching memory and the accounting.
 *
 * Producers (all in this thread, in slices of SLICE_OPS operations with a
 * setImmediate between slices, never paced):
 *   - spans through `dispatcher.tracerProvider` (two attributes at start, an
 *     event with attributes, a `setAttribute`, sometimes an error status);
 *   - every 16th operation, a parent span through the global API after
 *     `dispatcher.install()` (`trace.getTracer(..).startActiveSpan`), with a
 *     child span and a structured event inside it (carrying its ids);
 *   - structured events through `dispatcher.logger(target)` (info on every
 *     operation, debug every 8th, warn every 50th, error every 100th);
 *   - pino lines through `pino({ name }, dispatcher.pinoDestination())`
 *     every 4th operation.
 * Targets and span names cycle through 50 of each (5 areas × 10), so the
 * string table fills the way an application's would and then stays put.
 *
 * Sinks, each with its own filter:
 *   count        bench/counting-sink.js  `trace` (everything)
 *   prometheus   127.0.0.1, port 0       `info,cache=off` (scraped every report)
 *   ndjson       temp file               `error,auth=warn`
 *   chrome-trace temp file               `off,db.pool3=trace`
 * The temp files live in a folder under os.tmpdir(), removed at the end.
 *
 * Every REPORT_MS: elapsed time, heap used, RSS, and the producer's counts
 * (offered/written/dropped), and the worker thread's own heap (reported by
 * the counting sink). With `--expose-gc` (the worker inherits it), both heaps
 * are also measured after a full GC (what is really retained) at each report.
 * At the end: shutdown(), the final accounting, and the identities
 *   offered == written + dropped + oversize
 *   decoded == written
 *   per sink: delivered + filtered + failed == decoded
 * The exit code is 1 when one does not hold.
 *
 * With `--snapshots DIR`, heap snapshots of both threads are written to DIR
 * at a third of the run and at its end (main-N / worker-N.heapsnapshot),
 * for bench/heap-diff.js.
 *
 *   node [--expose-gc] bench/soak.js [seconds=60] [--json] [--snapshots DIR]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import pino from 'pino';
import { TraceDispatcher } from 'ringtrace';
import { fmt, isMain, machine, table } from './measure.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));
const SNAPSHOT_SINK = fileURLToPath(new URL('./heap-snapshot-sink.js', import.meta.url));
/** Operations between two yields to the event loop. */
const SLICE_OPS = 500;
const REPORT_MS = 5000;
const AREAS = ['http.route', 'db.pool', 'cache.shard', 'queue.topic', 'auth.realm'];
const PER_AREA = 10;
const VERBS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const PINO_LOGGERS = 10;

const mb = (bytes) => fmt(bytes / (1024 * 1024), 1);

/** One memory sample; with --expose-gc, also the heap after a full collection. */
function sampleMemory() {
  const m = process.memoryUsage();
  let heapAfterGc = NaN;
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    heapAfterGc = process.memoryUsage().heapUsed;
  }
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, heapAfterGc };
}

export async function runSoak({ seconds = 60, log = console.log, snapshots } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-soak-'));
  const ndjsonPath = join(dir, 'soak.ndjson');
  const chromePath = join(dir, 'soak.trace.json');
  try {
    const dispatcher = await TraceDispatcher.start({
      sinks: [
        { name: 'count', module: COUNTING_SINK, filter: 'trace', options: { heap: true } },
        { name: 'prometheus', sink: 'prometheus', filter: 'info,cache=off', options: { host: '127.0.0.1', port: 0 } },
        { name: 'ndjson', sink: 'ndjson', filter: 'error,auth=warn', options: { destination: ndjsonPath } },
        { name: 'chrome', sink: 'chrome-trace', filter: 'off,db.pool3=trace', options: { path: chromePath } },
        ...(snapshots === undefined ? [] : [{ name: 'snapshot', module: SNAPSHOT_SINK, filter: 'off', options: { dir: snapshots } }]),
      ],
    });
    dispatcher.install();
    const { url: metricsUrl } = await dispatcher.inspectSink('prometheus');

    const targets = AREAS.flatMap((area) => Array.from({ length: PER_AREA }, (_, i) => `${area}${i}`));
    const spanNames = AREAS.flatMap((area, a) => Array.from({ length: PER_AREA }, (_, i) => `${VERBS[a]} /${area.split('.')[0]}/${i}`));
    const tracers = targets.map((t) => dispatcher.tracerProvider.getTracer(t));
    const globalTracers = targets.map((t) => trace.getTracer(t));
    const loggers = targets.map((t) => dispatcher.logger(t));
    const pinos = Array.from({ length: PINO_LOGGERS }, (_, i) => pino({ name: targets[i * 5] }, dispatcher.pinoDestination()));
    const N = targets.length;

    let spans = 0;
    let events = 0;
    let pinoLines = 0;
    let op = 0;

    /** One operation: a span, an event, sometimes a pino line or a nested global-API span. */
    function operation() {
      const i = op++;
      // Different strides so target, span name and pino logger do not move in lockstep.
      const t = i % N;
      const n = (i * 7 + (i >>> 6)) % N;
      const tracer = tracers[t];
      const span = tracer.startSpan(spanNames[n], { attributes: { 'http.request.method': VERBS[n % 5], 'op.index': i } });
      span.addEvent('step', { 'step.bytes': i & 1023, 'step.cached': (i & 1) === 0 });
      span.setAttribute('items.count', i & 255);
      if (i % 97 === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' });
      span.end();
      spans++;

      const logger = loggers[t];
      logger.info('handled', { route: n, bytes: i & 1023, ok: true });
      events++;
      if ((i & 7) === 0) {
        logger.debug('cache state', { hits: i & 63, misses: i & 15 });
        events++;
      }
      if (i % 50 === 0) {
        logger.warn('slow', { ms: i % 1000 });
        events++;
      }
      if (i % 100 === 0) {
        logger.error('failed', { code: 'E_UPSTREAM', attempt: i % 3 });
        events++;
      }
      if ((i & 3) === 0) {
        pinos[(i >>> 2) % PINO_LOGGERS].info({ reqId: i, user: i % 100 }, 'request done');
        pinoLines++;
      }
      if ((i & 15) === 0) {
        globalTracers[n].startActiveSpan(spanNames[t], (parent) => {
          const child = globalTracers[n].startSpan('child work', { attributes: { depth: 1 } });
          loggers[n].info('inside span', { i });
          child.end();
          parent.end();
        });
        spans += 2;
        events++;
      }
    }

    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const samples = [];
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let nextReport = t0 + REPORT_MS;
    let scrapeBytes = 0;
    let scrapes = 0;
    let snapshotsTaken = 0;
    const snapshot = async () => {
      snapshotsTaken++;
      const main = writeHeapSnapshot(join(snapshots, `main-${snapshotsTaken}.heapsnapshot`));
      const worker = await dispatcher.inspectSink('snapshot');
      log(`heap snapshots: ${main} ${worker}`);
    };
    let snapshotAt = snapshots === undefined ? Infinity : t0 + (seconds * 1000) / 3;

    const orDash = (x) => (Number.isNaN(x) ? '-' : mb(x));
    const row = (s) => [fmt(s.elapsed, 1), mb(s.heapUsed), orDash(s.heapAfterGc), mb(s.heapTotal), orDash(s.workerHeapUsed), orDash(s.workerHeapAfterGc), mb(s.rss), mb(s.arrayBuffers), s.offered, s.written, s.dropped];
    const header = ['elapsed s', 'heap used MiB', 'heap after GC MiB', 'heap total MiB', 'worker heap MiB', 'worker heap after GC MiB', 'RSS MiB', 'arrayBuffers MiB', 'offered', 'written', 'dropped'];
    const record = async () => {
      const p = dispatcher.producerStats();
      const elapsed = (performance.now() - t0) / 1000;
      const mem = sampleMemory();
      // The worker's own V8 heap, from the counting sink (a control request the worker answers between batches).
      const worker = await dispatcher.inspectSink('count');
      const s = { elapsed, ...mem, workerHeapUsed: worker.heapUsed, workerHeapAfterGc: worker.heapAfterGc, ...p, spans, events, pinoLines };
      samples.push(s);
      log(row(s).map((c, k) => `${header[k]} ${c}`).join(', '));
      return s;
    };
    await record();

    while (performance.now() < end) {
      for (let k = 0; k < SLICE_OPS; k++) operation();
      await yieldToEventLoop();
      if (performance.now() >= snapshotAt) {
        snapshotAt = Infinity;
        await snapshot();
      }
      if (performance.now() >= nextReport) {
        nextReport += REPORT_MS;
        await record();
        // A scraper, as in production: the prometheus sink renders in the worker.
        fetch(metricsUrl)
          .then((r) => r.text())
          .then((text) => {
            scrapeBytes = text.length;
            scrapes++;
          })
          .catch((error) => log(`scrape failed: ${error.message}`));
      }
    }
    const elapsed = (performance.now() - t0) / 1000;
    const last = await record();
    if (snapshots !== undefined) await snapshot();
    loopDelay.disable();

    await dispatcher.flush();
    const { count: countSinkSaw } = await dispatcher.inspectSink('count');
    const stats = await dispatcher.shutdown();
    const files = { ndjsonBytes: statSync(ndjsonPath).size, chromeTraceBytes: statSync(chromePath).size };

    const identities = [
      { name: 'offered == written + dropped + oversize', holds: stats.offered === stats.written + stats.dropped + stats.oversize, detail: `${stats.offered} == ${stats.written} + ${stats.dropped} + ${stats.oversize}` },
      { name: 'decoded == written', holds: stats.decoded === stats.written, detail: `${stats.decoded} == ${stats.written}` },
      ...stats.sinks.map((s) => ({
        name: `${s.name}: delivered + filtered + failed == decoded`,
        holds: s.delivered + s.filtered + s.failed === stats.decoded,
        detail: `${s.delivered} + ${s.filtered} + ${s.failed} == ${stats.decoded}`,
      })),
    ];

    return {
      seconds,
      elapsed,
      operations: op,
      produced: { spans: last.spans, events: last.events, pinoLines: last.pinoLines },
      rates: {
        offeredPerSecond: stats.offered / elapsed,
        writtenPerSecond: stats.written / elapsed,
        spansPerSecond: last.spans / elapsed,
        eventsPerSecond: last.events / elapsed,
        pinoLinesPerSecond: last.pinoLines / elapsed,
      },
      eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      samples,
      accounting: {
        offered: stats.offered,
        written: stats.written,
        dropped: stats.dropped,
        oversize: stats.oversize,
        decoded: stats.decoded,
        orphaned: stats.orphaned,
        evictedSpans: stats.evictedSpans,
        openSpans: stats.openSpans,
        queueHighWaterBytes: stats.queueHighWaterBytes,
        queueCapacity: stats.queueCapacity,
        restarts: stats.restarts,
        lostInFlight: stats.lostInFlight,
        countSinkSaw,
        sinks: stats.sinks.map((s) => ({ name: s.name, filter: s.filter, delivered: s.delivered, filtered: s.filtered, failed: s.failed, diagnostics: s.diagnostics, flushes: s.flushes, flushFailures: s.flushFailures })),
      },
      identities,
      scrapes: { count: scrapes, lastBytes: scrapeBytes },
      files,
      tableHeader: header,
      tableRows: samples.map(row),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function soakReport(out) {
  const a = out.accounting;
  return [
    table(out.tableHeader, out.tableRows),
    '',
    `ran ${fmt(out.elapsed, 1)} s: ${out.operations} operations, ${out.produced.spans} spans, ${out.produced.events} events, ${out.produced.pinoLines} pino lines`,
    `rate: ${fmt(out.rates.offeredPerSecond, 0)} records/s offered, ${fmt(out.rates.writtenPerSecond, 0)} records/s written, ` +
      `${fmt(out.rates.spansPerSecond, 0)} spans/s, ${fmt(out.rates.eventsPerSecond, 0)} events/s, ${fmt(out.rates.pinoLinesPerSecond, 0)} pino lines/s`,
    `event-loop delay (producer thread): p50 ${fmt(out.eventLoopDelayMs.p50, 2)} ms, p99 ${fmt(out.eventLoopDelayMs.p99, 2)} ms, max ${fmt(out.eventLoopDelayMs.max, 2)} ms`,
    `prometheus scrapes: ${out.scrapes.count} (last ${out.scrapes.lastBytes} bytes); files before removal: ndjson ${out.files.ndjsonBytes} bytes, chrome-trace ${out.files.chromeTraceBytes} bytes`,
    '',
    `final accounting: offered ${a.offered}, written ${a.written}, dropped ${a.dropped}, oversize ${a.oversize}, decoded ${a.decoded}`,
    `  orphaned ${a.orphaned}, evicted spans ${a.evictedSpans}, open spans ${a.openSpans}, queue high water ${a.queueHighWaterBytes} of ${a.queueCapacity} bytes, restarts ${a.restarts}, lost in flight ${a.lostInFlight}`,
    table(
      ['sink', 'filter', 'delivered', 'filtered', 'failed', 'diagnostics', 'flushes', 'flush failures'],
      a.sinks.map((s) => [s.name, s.filter, s.delivered, s.filtered, s.failed, s.diagnostics, s.flushes, s.flushFailures]),
    ),
    `  (the counting sink itself counted ${a.countSinkSaw} consume calls before shutdown)`,
    '',
    ...out.identities.map((id) => `${id.holds ? 'holds ' : 'BROKEN'}  ${id.name}: ${id.detail}`),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const seconds = args[0] !== undefined && !args[0].startsWith('--') ? Number(args[0]) : 60;
  if (!(seconds > 0)) throw new Error(`soak: seconds must be a positive number, got ${JSON.stringify(args[0])}`);
  const json = args.includes('--json');
  const snapshots = args.includes('--snapshots') ? args[args.indexOf('--snapshots') + 1] : undefined;
  const m = machine();
  if (!json) console.log(`${JSON.stringify(m)}\nsoak for ${seconds} s${typeof globalThis.gc === 'function' ? ' (heap after GC measured: --expose-gc)' : ''}\n`);
  const out = await runSoak({ seconds, snapshots, log: json ? () => {} : console.log });
  const after = machine();
  if (json) console.log(JSON.stringify({ machine: m, loadavgAtEnd: after.loadavg, ...out }));
  else console.log(`\n${soakReport(out)}\n\nload average at end: ${after.loadavg}`);
  if (!out.identities.every((id) => id.holds)) process.exitCode = 1;
}
