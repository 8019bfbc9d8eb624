/**
 * The OpenTelemetry Logs API, producer cost per `logger.emit()`, each
 * candidate alone in its own process (so neither pays for the other's
 * garbage or worker):
 *
 *   ringtrace emit           dispatcher.loggerProvider's logger: a record with
 *                            severity, a string body and 3 attributes, one
 *                            counting sink accepting it
 *   SDK emit                 @opentelemetry/sdk-logs LoggerProvider with a
 *                            BatchLogRecordProcessor and an exporter that
 *                            discards: the SDK's own path, without the network
 *   ringtrace emit, off      the same logger when no sink accepts its target
 *   ringtrace event, off     dispatcher.logger(target).info() when no sink
 *                            accepts it: what a disabled log is to cost
 *
 * Each process runs `--rounds` interleaved rounds (bench/measure.js) and
 * reports medians; the parent starts the processes in turn, `--passes`
 * times, and prints the median over passes of each candidate's median.
 *
 *   node bench/logs-api.js [--passes N] [--rounds N] [--json]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { SeverityNumber } from '@opentelemetry/api';
import { TraceDispatcher } from 'ringtrace';
import { fmt, interleave, isMain, machine, median, table } from './measure.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));
const CANDIDATES = ['ringtrace emit', 'SDK emit', 'ringtrace emit, off', 'ringtrace event, off'];
const OPS = 100_000;
const OFF_OPS = 5_000_000;

const record = () => ({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'msg', attributes: { a: 1, b: 'two', c: true } });

async function candidate(name) {
  if (name === 'SDK emit') {
    const { LoggerProvider, BatchLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
    let exported = 0;
    const exporter = {
      export(records, done) {
        exported += records.length;
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
      forceFlush: () => Promise.resolve(),
    };
    const processor = new BatchLogRecordProcessor({ exporter, maxQueueSize: OPS * 2, maxExportBatchSize: 512 });
    const provider = new LoggerProvider({ processors: [processor] });
    const logger = provider.getLogger('bench');
    return {
      c: { name, ops: OPS, loop: (n) => { for (let i = 0; i < n; i++) logger.emit(record()); }, between: () => provider.forceFlush() },
      close: async () => {
        await provider.shutdown();
        return { exported };
      },
    };
  }
  const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info,quiet=off' }] });
  const close = async () => {
    const s = await dispatcher.shutdown();
    return { offered: s.offered, written: s.written, dropped: s.dropped };
  };
  if (name === 'ringtrace emit') {
    const logger = dispatcher.loggerProvider.getLogger('bench');
    return { c: { name, ops: OPS, loop: (n) => { for (let i = 0; i < n; i++) logger.emit(record()); }, between: () => dispatcher.flush() }, close };
  }
  if (name === 'ringtrace emit, off') {
    const logger = dispatcher.loggerProvider.getLogger('quiet');
    return { c: { name, ops: OFF_OPS, loop: (n) => { for (let i = 0; i < n; i++) logger.emit(record()); } }, close };
  }
  const log = dispatcher.logger('quiet');
  return { c: { name, ops: OFF_OPS, loop: (n) => { for (let i = 0; i < n; i++) log.info('msg', { a: 1, b: 'two', c: true }); } }, close };
}

async function child(name, rounds) {
  const { c, close } = await candidate(name);
  const results = await interleave([c], { rounds, warmups: 3 });
  const counts = await close();
  process.stdout.write(JSON.stringify({ ...results[name], counts }) + '\n');
}

async function parent({ passes, rounds, json }) {
  const per = Object.fromEntries(CANDIDATES.map((n) => [n, []]));
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < CANDIDATES.length; i++) {
      const name = CANDIDATES[(i + p) % CANDIDATES.length];
      const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', name, '--rounds', String(rounds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout.on('data', (b) => (out += b));
      await once(proc, 'exit');
      per[name].push(JSON.parse(out.trim().split('\n').pop()));
    }
  }
  const summary = Object.fromEntries(CANDIDATES.map((n) => [n, { wall: median(per[n].map((r) => r.median)), cpu: median(per[n].map((r) => r.cpuMedian)), passes: per[n].map((r) => r.median) }]));
  if (json) {
    process.stdout.write(JSON.stringify({ machine: machine(), passes, rounds, summary, per }, null, 2) + '\n');
    return;
  }
  const sdk = summary['SDK emit'];
  console.log(machine());
  console.log(table(
    ['candidate', 'wall ns/op', 'on-CPU ns/op', 'SDK / this (wall)', 'per-pass wall medians'],
    CANDIDATES.map((n) => [n, fmt(summary[n].wall), fmt(summary[n].cpu), fmt(sdk.wall / summary[n].wall, 2), summary[n].passes.map((x) => fmt(x)).join(' ')]),
  ));
  for (const n of CANDIDATES) {
    const counts = per[n].map((r) => r.counts);
    if (counts.some((c) => c.dropped > 0)) console.log(`${n}: drops during the run ${counts.map((c) => c.dropped).join(' ')}`);
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (flag, dflt) => {
    const i = args.indexOf(flag);
    return i < 0 ? dflt : args[i + 1];
  };
  if (args.includes('--child')) await child(opt('--child'), Number(opt('--rounds', 7)));
  else await parent({ passes: Number(opt('--passes', 3)), rounds: Number(opt('--rounds', 7)), json: args.includes('--json') });
}
