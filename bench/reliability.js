/**
 * Reliability figures (issue 6), on the compiled build:
 *
 *   1. Damaged records in a real dispatcher: a working dispatcher with a
 *      memory sink gets, between good events, records with sound framing
 *      and random bodies (random kind, level, flags and bytes) written
 *      straight into its ring. Counted: worker deaths (restarts, target 0),
 *      good events lost (target 0), and `decoded + corrupt == written`.
 *   2. Damaged bytes in real records: the drain loop in this process over a
 *      ring of real records (events, pino lines, spans; strings inline)
 *      with random body, flag and level bytes changed. Counted: exceptions
 *      out of the drain loop (target 0), records neither decoded nor counted
 *      corrupt (target 0), and undamaged records lost (target 0).
 *   3. Respawns under load: test/fixtures/respawn-under-load.mjs in child
 *      processes, each killing its worker four times with process.exit()
 *      from a sink that writes in flush. Counted: records delivered twice
 *      (target 0), missing records against `lostInFlight` (target equal),
 *      and `lostInFlight` per respawn.
 *
 *   node bench/reliability.js [--runs N] [--children N] [--json]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TraceDispatcher } from 'ringtrace';
import { LevelHint } from '../dist/src/filter/level-hint.js';
import { TargetFilter } from '../dist/src/filter/target-filter.js';
import { RecordDecoder } from '../dist/src/decoder/record-decoder.js';
import { RecordEncoder } from '../dist/src/encoder/record-encoder.js';
import { StringTable } from '../dist/src/encoder/string-table.js';
import { RingTracerProvider } from '../dist/src/capture/ring-tracer-provider.js';
import { resolveOptions } from '../dist/src/options.js';
import { RecordWalker } from '../dist/src/ring/framing.js';
import { allocateRing, HEADER_BYTES } from '../dist/src/ring/layout.js';
import { RingReader } from '../dist/src/ring/ring-reader.js';
import { RingWriter } from '../dist/src/ring/ring-writer.js';
import { Diagnostics } from '../dist/workers/diagnostics.js';
import { DrainLoop } from '../dist/workers/drain-loop.js';
import { FanOut } from '../dist/workers/fan-out.js';
import { isMain, machine, table } from './measure.js';
import { pino } from 'pino';

const RESPAWN_FIXTURE = fileURLToPath(new URL('../test/fixtures/respawn-under-load.mjs', import.meta.url));
const BUILD = fileURLToPath(new URL('../dist', import.meta.url));

/** 1. Random records through a real worker. */
async function damagedInDispatcher(runs) {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace', options: { maxRecords: 1_000_000 } }] });
  const log = d.logger('good');
  let bad = 0;
  let good = 0;
  for (let i = 0; i < runs; i++) {
    log.info('good', { seq: good++ });
    const size = 8 * (2 + Math.floor(Math.random() * 30));
    const record = new Uint8Array(size);
    for (let b = 8; b < size; b++) record[b] = Math.floor(Math.random() * 256);
    new DataView(record.buffer).setUint32(0, size, true);
    // Any kind but a string definition (1), which is no record of its own and would not count as written.
    record[4] = 2 + Math.floor(Math.random() * 11);
    record[5] = Math.floor(Math.random() * 8);
    record[6] = Math.floor(Math.random() * 256);
    if (d.writer.write(record, size)) bad++;
  }
  await d.flush();
  const stats = await d.stats();
  const seqs = new Set((await d.inspectSink('mem')).records.filter((r) => r.kind === 'event' && r.target === 'good').map((r) => r.fields.seq));
  await d.shutdown();
  return { badRecords: bad, restarts: stats.restarts, corrupt: stats.corrupt, goodLost: good - seqs.size, identity: stats.decoded + stats.corrupt === stats.written };
}

/** 2. Real records with damaged bytes through the drain loop. */
function damagedInRing(runs) {
  let exceptions = 0;
  let unaccounted = 0;
  let undamagedLost = 0;
  let damaged = 0;
  let corrupt = 0;
  const silent = pino({ level: 'silent' });
  const o = resolveOptions({});
  for (let run = 0; run < runs; run++) {
    const ring = allocateRing(1 << 20);
    const writer = new RingWriter(ring);
    const reader = new RingReader(ring);
    const encoder = new RecordEncoder(writer, { strings: new StringTable(0) });
    const hint = new LevelHint();
    hint.update([TargetFilter.parse('trace')]);
    const tracer = new RingTracerProvider(encoder, hint, o.spanLimits, o.sampler, o.spanLevel, o.flushIntervalMs).getTracer('fuzz');
    const at = [];
    for (let seq = 0; seq < 100; seq++) {
      at.push(writer.writePosition);
      if (seq % 3 === 0) encoder.event(3, 1000 + seq, 'app', `event ${seq}`, { seq, big: 123n, list: [1, 'two'], f: 1.5 }, null);
      else if (seq % 3 === 1) encoder.logLine(1000 + seq, `{"level":30,"msg":"line","seq":${seq}}\n`, null);
      else {
        const span = tracer.startSpan(`span ${seq}`, { attributes: { seq } });
        span.addEvent('e', { n: 1 });
        span.end();
      }
    }
    at.push(writer.writePosition);
    const end = writer.writePosition;
    const walker = new RecordWalker(reader.bytes);
    const starts = [];
    for (let pos = 0; pos < end; pos += walker.sizeAt(pos, end)) starts.push(pos);
    const view = new DataView(ring, HEADER_BYTES);
    const hit = new Set();
    for (let k = 0; k < 5; k++) {
      const i = Math.floor(Math.random() * starts.length);
      const start = starts[i];
      const size = (starts[i + 1] ?? end) - start;
      const offset = 5 + Math.floor(Math.random() * (size - 5));
      view.setUint8(start + offset, Math.floor(Math.random() * 256));
      hit.add(start);
    }
    damaged += hit.size;
    const decoder = new RecordDecoder(reader.bytes);
    const diagnostics = new Diagnostics({ logger: silent });
    const fanOut = new FanOut(decoder, diagnostics);
    const seen = new Set();
    fanOut.add('s', TargetFilter.parse('trace'), {
      consume(r) {
        if (r.kind === 'event' && typeof r.fields.seq === 'number') seen.add(r.fields.seq);
        else if (r.kind === 'spanEnd') seen.add(Number(r.span.name.slice(5)));
      },
      flush() {},
    });
    const loop = new DrainLoop(reader, decoder, fanOut, diagnostics, { flushIntervalMs: 60_000, flushEveryRecords: 1e9 });
    try {
      while (reader.position < reader.available()) loop.drainBatch(64);
    } catch {
      exceptions++;
      continue;
    }
    const s = loop.stats();
    corrupt += s.corrupt;
    unaccounted += writer.written - s.decoded - s.corrupt;
    const damagedStarts = [...hit];
    for (let seq = 0; seq < 100; seq++) {
      const touched = damagedStarts.some((d) => d >= at[seq] && d < at[seq + 1]);
      if (!touched && !seen.has(seq)) undamagedLost++;
    }
  }
  return { runs, damagedRecords: damaged, corrupt, exceptions, unaccounted, undamagedLost };
}

/** 3. Respawns under load, in child processes. */
function respawnChild(dir, i, kills) {
  const file = join(dir, `${i}.seq`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RESPAWN_FIXTURE, BUILD, file, join(dir, `${i}.kills`), String(kills)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.on('error', reject);
    child.on('close', () => {
      const counts = JSON.parse(stdout);
      const seqs = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
      const unique = new Set(seqs);
      resolve({ ...counts, duplicates: seqs.length - unique.size, missing: counts.sent - unique.size });
    });
  });
}

export async function runReliability({ runs = 2000, children = 5 } = {}) {
  const dispatcher = await damagedInDispatcher(runs);
  const ring = damagedInRing(runs / 4);
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-bench-respawn-'));
  const respawns = [];
  for (let i = 0; i < children; i++) respawns.push(await respawnChild(dir, i, 4));
  return { machine: machine(), dispatcher, ring, respawns };
}

export function reliabilityReport(out) {
  const { dispatcher: d, ring: r, respawns } = out;
  const kills = respawns.reduce((a, c) => a + c.restarts, 0);
  const lost = respawns.reduce((a, c) => a + c.lostInFlight, 0);
  const rows = [
    ['random records into a running dispatcher', `${d.badRecords}`, `worker deaths ${d.restarts}`, `good events lost ${d.goodLost}; decoded + corrupt == written: ${d.identity}`],
    ['damaged bytes in real records (drain loop)', `${r.damagedRecords} damaged in ${r.runs} rings`, `exceptions ${r.exceptions}`, `unaccounted ${r.unaccounted}; undamaged lost ${r.undamagedLost}; ${r.corrupt} counted corrupt`],
    [
      `worker killed under load (${kills} kills in ${respawns.length} processes)`,
      `${respawns.reduce((a, c) => a + c.sent, 0)} records sent`,
      `duplicates ${respawns.reduce((a, c) => a + c.duplicates, 0)}`,
      `missing ${respawns.reduce((a, c) => a + c.missing, 0)} == lostInFlight ${lost}; ${(lost / Math.max(1, kills)).toFixed(0)} lost in flight per respawn`,
    ],
  ];
  return table(['scenario', 'input', 'target 0', 'accounting'], rows);
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
  const out = await runReliability({ runs: opt('--runs', 2000), children: opt('--children', 5) });
  if (args.includes('--json')) console.log(JSON.stringify(out));
  else {
    console.log(`${out.machine.date} — node ${out.machine.node}, ${out.machine.cpus} CPUs (${out.machine.cpu}), load ${out.machine.loadavg}`);
    console.log(reliabilityReport(out));
  }
}
