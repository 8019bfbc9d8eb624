/**
 * Share of events offered in a tight loop that reach the sink, at the
 * default queue capacity: 1,000,000 × `logger.info('msg', {a, b, c})` with no
 * pause, while the worker drains into one counting sink; then `flush()` and
 * read the counts from `dispatcher.stats()`.
 *
 *   delivered share = sink.delivered / offered   (drops are counted, never silent)
 *
 * Each round uses a fresh dispatcher so every round starts with an empty ring.
 *
 *   node bench/delivery.js [--rounds N] [--events N] [--json]
 */
import { fileURLToPath } from 'node:url';
import { TraceDispatcher } from 'ringtrace';
import { fmt, isMain, machine, median, table } from './measure.js';

const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));

export async function runDelivery({ rounds = 3, events = 1_000_000 } = {}) {
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const dispatcher = await TraceDispatcher.start({ sinks: [{ name: 'count', module: COUNTING_SINK, filter: 'info' }] });
    const log = dispatcher.logger('bench');
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < events; i++) log.info('msg', { a: i, b: 'two', c: true });
    const t1 = process.hrtime.bigint();
    await dispatcher.flush();
    const stats = await dispatcher.stats();
    await dispatcher.shutdown();
    const sink = stats.sinks.find((s) => s.name === 'count');
    results.push({
      offered: stats.offered,
      written: stats.written,
      dropped: stats.dropped,
      delivered: sink.delivered,
      share: sink.delivered / stats.offered,
      producerNsPerEvent: Number(t1 - t0) / events,
      queueCapacity: stats.queueCapacity,
    });
  }
  return { events, rounds, results, medianShare: median(results.map((x) => x.share)) };
}

export function deliveryReport({ events, results, medianShare }) {
  const rows = results.map((x, i) => [
    `round ${i + 1}`,
    x.offered,
    x.written,
    x.dropped,
    x.delivered,
    `${fmt(x.share * 100, 2)}%`,
    fmt(x.producerNsPerEvent),
  ]);
  return [
    table([`${events} events, tight loop, capacity ${results[0].queueCapacity} B`, 'offered', 'written', 'dropped', 'delivered', 'share', 'ns/event'], rows),
    '',
    `delivered share (median) = ${fmt(medianShare * 100, 2)}%   (target >= 99%)`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const out = await runDelivery({ rounds: opt('--rounds'), events: opt('--events') });
  if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), ...out }));
  else console.log(`${JSON.stringify(machine())}\n\n${deliveryReport(out)}`);
}
