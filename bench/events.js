/**
 * Producer cost per event, side by side in one process:
 *
 *   ringtrace   dispatcher.logger('bench').info('msg', { a: 1, b: 'two', c: true })
 *               (default capacity, one counting sink accepting it)
 *   pino        the same line through pino.transport({ target: 'pino/file', /dev/null })
 *   bare ring   a hand-written 48-byte SAB ring write with a performance.now() stamp
 *
 * plus context rows: ringtrace with the level disabled (no sink wants
 * debug), pino writing synchronously to /dev/null on the main thread, and
 * pino writing into the ring through `dispatcher.pinoDestination()` (issue 3).
 *
 * pino.transport (thread-stream) appends lines to a string in the loop and
 * copies them to its worker's buffer when the loop yields: the column
 * "+ deferred on-CPU" adds this thread's CPU time spent in the untimed
 * step after each loop (flush), where that deferred work runs.
 *
 * Each round times a whole loop of OPS calls; the candidates are interleaved
 * and the order rotates every round. Between ringtrace rounds the ring is
 * flushed (untimed), and each round fits in the ring, so no timed record is
 * a (cheaper) drop: the script checks this and reports any.
 *
 *   node bench/events.js [--rounds N] [--json]
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { TraceDispatcher } from 'ringtrace';
import { BareRing } from './bare-ring.js';
import { fmt, interleave, isMain, machine, pause, table } from './measure.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));

export async function runEvents({ rounds = 9, ops = 100_000 } = {}) {
  const dispatcher = await TraceDispatcher.start({
    sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info' }],
  });
  const log = dispatcher.logger('bench');

  const transport = pino.transport({ target: 'pino/file', options: { destination: '/dev/null' } });
  await once(transport, 'ready');
  const viaTransport = pino({ name: 'bench' }, transport);
  const syncDest = pino.destination({ dest: '/dev/null', sync: true });
  const viaSync = pino({ name: 'bench' }, syncDest);
  const viaRing = typeof dispatcher.pinoDestination === 'function' ? pino({ name: 'bench' }, dispatcher.pinoDestination()) : null;

  const bare = new BareRing(16 * 1024 * 1024);
  let timedDrops = 0;

  const candidates = [
    {
      name: 'ringtrace event',
      ops,
      loop(n) {
        const before = dispatcher.producerStats();
        for (let i = 0; i < n; i++) log.info('msg', { a: 1, b: 'two', c: true });
        const after = dispatcher.producerStats();
        timedDrops += after.offered - after.written - (before.offered - before.written);
      },
      between: () => dispatcher.flush(),
    },
    {
      name: 'ringtrace event, level off',
      ops: ops * 200,
      loop(n) {
        for (let i = 0; i < n; i++) log.debug('msg', { a: 1, b: 'two', c: true });
      },
    },
    {
      name: 'bare SAB ring write',
      ops,
      loop(n) {
        const before = bare.dropped;
        for (let i = 0; i < n; i++) bare.record(1, 2, true);
        timedDrops += bare.dropped - before;
      },
      between: () => bare.consumeAll(),
    },
    {
      name: 'pino.transport /dev/null',
      ops: ops / 2,
      loop(n) {
        for (let i = 0; i < n; i++) viaTransport.info({ a: 1, b: 'two', c: true }, 'msg');
      },
      between: () => new Promise((resolve) => viaTransport.flush(() => resolve())).then(() => pause(20)),
    },
    {
      name: 'pino sync /dev/null (main thread)',
      ops: ops / 2,
      loop(n) {
        for (let i = 0; i < n; i++) viaSync.info({ a: 1, b: 'two', c: true }, 'msg');
      },
    },
  ];
  if (viaRing !== null) {
    candidates.push({
      name: 'pino → ringtrace pinoDestination()',
      ops: ops / 2,
      loop(n) {
        const before = dispatcher.producerStats();
        for (let i = 0; i < n; i++) viaRing.info({ a: 1, b: 'two', c: true }, 'msg');
        const after = dispatcher.producerStats();
        timedDrops += after.offered - after.written - (before.offered - before.written);
      },
      between: () => dispatcher.flush(),
    });
  }
  const results = await interleave(candidates, { rounds, warmups: 3 });

  const stats = await dispatcher.shutdown();
  transport.end();
  syncDest.end();
  const sink = stats.sinks.find((s) => s.name === 'count');
  return {
    results,
    ops,
    rounds,
    timedDrops,
    accounting: { offered: stats.offered, written: stats.written, dropped: stats.dropped, decoded: stats.decoded, delivered: sink.delivered },
  };
}

export function eventsReport({ results, timedDrops, accounting }) {
  const rt = results['ringtrace event'];
  const bare = results['bare SAB ring write'];
  const pinoT = results['pino.transport /dev/null'];
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    fmt(r.median),
    `${fmt(r.min)}–${fmt(r.max)}`,
    `${fmt(r.spread * 100, 0)}%`,
    fmt(r.cpuMedian),
    fmt(r.cpuWithDeferredMedian),
    fmt(r.median / rt.median, 2),
  ]);
  const ratio = (a, b) =>
    `${fmt(a.median / b.median, 2)}x wall, ${fmt(a.cpuMedian / b.cpuMedian, 2)}x on-CPU, ` +
    `${fmt(a.cpuWithDeferredMedian / b.cpuWithDeferredMedian, 2)}x on-CPU with deferred work`;
  return [
    table(
      ['producer cost per event (3 fields)', 'wall ns/op median', 'range', 'spread', 'on-CPU ns/op median', '+ deferred on-CPU', 'x ringtrace (wall)'],
      rows,
    ),
    '',
    `ringtrace / bare ring      = ${ratio(rt, bare)}   (target <= 2x)`,
    `pino.transport / ringtrace = ${ratio(pinoT, rt)}   (target >= 5x)`,
    ...(results['pino → ringtrace pinoDestination()'] === undefined
      ? []
      : [`pino.transport / pino → ringtrace pinoDestination() = ${ratio(pinoT, results['pino → ringtrace pinoDestination()'])}`]),
    `records dropped inside timed loops: ${timedDrops}; ringtrace accounting: ${JSON.stringify(accounting)}`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : undefined;
  const out = await runEvents({ rounds });
  if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), ...out }));
  else console.log(`${JSON.stringify(machine())}\n\n${eventsReport(out)}`);
}
