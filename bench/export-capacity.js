/**
 * The worker's export capacity alone: how many spans a second the dispatcher
 * worker can take from the ring and deliver over OTLP/HTTP protobuf, and what
 * it spends on its own core for each, with nothing else in its way.
 *
 *   1. a gate sink (bench/counting-sink.js, filtered to the `gate` target
 *      only) is added and armed, and one `gate` event written: the worker
 *      takes it and blocks inside `consume`, so nothing reads the ring;
 *   2. the main thread prefills a 256 MiB ring with SPANS spans through the
 *      real tracer (the span of bench/export.js and spans.js: `startSpan`
 *      with 2 attributes, one `setAttribute`, `end`);
 *   3. t0 and the worker thread's CPU time (its /proc/self/task/<tid>/schedstat),
 *      the gate opened and the gate sink removed (so the otlp sink is the
 *      only one, as in a plain deployment); `await dispatcher.flush()`
 *      resolves once every span is exported or counted; t1 and the CPU again.
 *
 *   spans/s = exported / (t1 - t0)      worker µs/span = worker CPU / exported
 *
 * The `otlp` sink runs at its defaults (batches of 512, 4 requests in flight,
 * its queue bounds), with `compression: 'none'` (the default) and `'gzip'`.
 * Its receiver is a forked child on loopback that answers 200 at once and
 * counts requests, bytes and spans (walking the protobuf to the Span
 * messages; gunzipped first when the body is gzip); the sink's own
 * `exported` / `dropped` counts are checked against it.
 *
 * With `--profile` the measurement runs once more in a child process under
 * `--cpu-prof` (the worker inherits it), and the worker's profile is
 * summarised: self time by stage of the path, by module and by function,
 * as shares of the worker's busy time inside the measured rounds (the
 * warm-up, the gate's wait and idle time left out).
 *
 * `--sink-options JSON` adds options to the sink's (say
 * `'{"maxExportBatchSize":2048}'`), to see what a setting changes.
 *
 *   node bench/export-capacity.js [--spans N] [--rounds N] [--compression none|gzip|both] [--sink-options JSON] [--profile] [--json]
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { GATE_ARMED, GATE_HELD, GATE_OPEN } from './counting-sink.js';
import { fmt, isMain, machine, median, pause, table } from './measure.js';
import { SPANS_LOOP, START_OPTIONS } from './spans.js';

const SELF = fileURLToPath(import.meta.url);
/** Room for a round of 300,000 spans (~130 bytes of records each) several times over. */
const QUEUE_CAPACITY = 128 * 1024 * 1024;
const COUNTING_SINK = fileURLToPath(new URL('./counting-sink.js', import.meta.url));

// ── the receiver (a forked child) ─────────────────────────────────────────

/** Reads a varint at `p` of `b`; returns [value, next position]. Lengths here stay far below 2^31. */
function varint(b, p) {
  let v = 0;
  let shift = 0;
  while (true) {
    const c = b[p++];
    v += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return [v, p];
    shift += 7;
  }
}

/** Calls `each(field, start, end)` for each length-delimited field of the message b[from, to); skips the others. */
function fields(b, from, to, each) {
  let p = from;
  while (p < to) {
    let key;
    [key, p] = varint(b, p);
    const wire = key & 7;
    if (wire === 0) [, p] = varint(b, p);
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      let n;
      [n, p] = varint(b, p);
      each(key >>> 3, p, p + n);
      p += n;
    } else throw new Error(`wire type ${wire} in a trace request`);
  }
}

/** Span messages in an ExportTraceServiceRequest: resource_spans(1) > scope_spans(2) > spans(2). */
export function countSpans(b) {
  let n = 0;
  fields(b, 0, b.length, (f, s, e) => {
    if (f !== 1) return;
    fields(b, s, e, (f2, s2, e2) => {
      if (f2 !== 2) return;
      fields(b, s2, e2, (f3) => {
        if (f3 === 2) n++;
      });
    });
  });
  return n;
}

function runReceiver() {
  const counts = { requests: 0, bytes: 0, spans: 0 };
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      counts.requests++;
      counts.bytes += body.length;
      counts.spans += countSpans(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': 0 });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'counts') process.send({ counts: { ...counts } });
    if (m === 'exit') server.close(() => process.exit(0));
  });
}

async function startReceiver() {
  // No inherited --cpu-prof: the receiver is not what is measured.
  const child = fork(SELF, ['--receiver'], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => child.once('message', (m) => resolve(m.port)));
  const ask = () => new Promise((resolve) => {
    child.once('message', (m) => resolve(m.counts));
    child.send('counts');
  });
  return { url: `http://127.0.0.1:${port}/v1/traces`, counts: ask, stop: () => child.send('exit') };
}

// ── the measurement ───────────────────────────────────────────────────────

function schedstatNs(tid) {
  return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
}

async function measureOne(compression, { spans, rounds, receiver, sinkOptions }) {
  const { TraceDispatcher } = await import('ringtrace');
  const gateBuffer = new SharedArrayBuffer(4);
  const gate = new Int32Array(gateBuffer);
  const dispatcher = await TraceDispatcher.start({
    queueCapacity: QUEUE_CAPACITY,
    // No log records: the gate's event (and the worker's diagnostics) would go to a logs endpoint nobody
    // answers, and that export's retries held the sink's flush past sinkTimeoutMs, so every later flush was skipped.
    sinks: [{ name: 'otlp', sink: 'otlp', filter: 'info', options: { endpoint: receiver.url, compression, ignoreEnvironment: true, exportEvents: false, ...sinkOptions } }],
  });
  const gateSink = { name: 'gate', module: COUNTING_SINK, filter: 'off,gate=info', options: { gate: gateBuffer, thread: true } };
  const loop = new Function('tracer', 'options', SPANS_LOOP)(dispatcher.tracerProvider.getTracer('bench'), START_OPTIONS);
  const gateLog = dispatcher.logger('gate');
  // The worker prefaults the ring's pages a step per turn after it starts: not part of exporting.
  for (let s = await dispatcher.stats(); s.prefaultedBytes < s.queueCapacity; s = await dispatcher.stats()) await pause(20);
  const out = { compression, rounds: [] };
  // One untimed round first: the worker's code warms up and the ring's pages are faulted in.
  for (let r = -1; r < rounds; r++) {
    const n = r < 0 ? Math.min(spans, 50_000) : spans;
    await dispatcher.addSink(gateSink);
    const { tid } = await dispatcher.inspectSink('gate');
    // Read before the gate closes: a held worker answers nothing.
    const sink0 = await inspectOtlp(dispatcher);
    const recv0 = await receiver.counts();
    Atomics.store(gate, 0, GATE_ARMED);
    gateLog.info('gate', {});
    while (Atomics.load(gate, 0) !== GATE_HELD) Atomics.wait(gate, 0, GATE_ARMED, 50);
    const before = dispatcher.producerStats();
    loop(n);
    const after = dispatcher.producerStats();
    if (after.written - before.written !== 2 * n) throw new Error(`prefill wrote ${after.written - before.written} of ${2 * n} records`);
    const cpu0 = schedstatNs(tid);
    const t0 = process.hrtime.bigint();
    Atomics.store(gate, 0, GATE_OPEN);
    Atomics.notify(gate, 0);
    await dispatcher.removeSink('gate');
    await dispatcher.flush();
    const t1 = process.hrtime.bigint();
    const cpu1 = schedstatNs(tid);
    // A sink flush can time out on a loaded machine (the receiver starved): what is still pending is shown, not waited for.
    const sink1 = await inspectOtlp(dispatcher);
    const recv1 = await receiver.counts();
    const exported = sink1.exported - sink0.exported;
    const round = {
      spans: n,
      seconds: Number(t1 - t0) / 1e9,
      exported,
      dropped: sink1.dropped - sink0.dropped,
      failed: sink1.failed - sink0.failed,
      pending: sink1.pending,
      received: recv1.spans - recv0.spans,
      requests: recv1.requests - recv0.requests,
      bytesPerSpan: (recv1.bytes - recv0.bytes) / Math.max(1, recv1.spans - recv0.spans),
      spansPerSecond: exported / (Number(t1 - t0) / 1e9),
      workerCpuUsPerSpan: (cpu1 - cpu0) / 1e3 / Math.max(1, exported),
      workerBusy: (cpu1 - cpu0) / Number(t1 - t0),
      // CLOCK_MONOTONIC µs, the clock of a .cpuprofile's timestamps: the profile is cut to these windows.
      window: [Number(t0 / 1000n), Number(t1 / 1000n)],
    };
    if (r >= 0) out.rounds.push(round);
  }
  await dispatcher.shutdown();
  const pick = (k) => out.rounds.map((x) => x[k]);
  out.spansPerSecond = median(pick('spansPerSecond'));
  out.workerCpuUsPerSpan = median(pick('workerCpuUsPerSpan'));
  return out;
}

async function inspectOtlp(dispatcher) {
  return (await dispatcher.inspectSink('otlp')).spans;
}

export async function runExportCapacity({ spans = 300_000, rounds = 3, compressions = ['none', 'gzip'], sinkOptions = {} } = {}) {
  const receiver = await startReceiver();
  try {
    const results = [];
    for (const c of compressions) results.push(await measureOne(c, { spans, rounds, receiver, sinkOptions }));
    return { spans, sinkOptions, results };
  } finally {
    receiver.stop();
  }
}

export function exportCapacityReport({ spans, sinkOptions = {}, results }) {
  const rows = [];
  for (const res of results) {
    for (const [i, r] of res.rounds.entries()) {
      rows.push([
        i === 0 ? res.compression : '',
        fmt(r.spansPerSecond, 0),
        fmt(r.workerCpuUsPerSpan, 2),
        `${fmt(r.workerBusy * 100, 0)}%`,
        `${r.exported}/${r.spans}`,
        String(r.dropped + r.failed),
        String(r.pending),
        String(r.received),
        String(r.requests),
        fmt(r.bytesPerSpan, 1),
      ]);
    }
  }
  const lines = [
    table(
      [`otlp sink${Object.keys(sinkOptions).length === 0 ? ' at its defaults' : ` with ${JSON.stringify(sinkOptions)}`}, ${spans} prefilled spans a round`, 'exported spans/s', 'worker CPU µs/span', 'worker busy', 'exported', 'dropped+failed', 'pending at t1', 'received', 'requests', 'bytes/span'],
      rows,
    ),
    '',
  ];
  for (const res of results) {
    lines.push(`${res.compression}: ${fmt(res.spansPerSecond, 0)} spans/s, ${fmt(res.workerCpuUsPerSpan, 2)} µs of worker CPU a span (median of rounds; target >= 1,000,000 spans/s)`);
  }
  return lines.join('\n');
}

// ── the profile ───────────────────────────────────────────────────────────

/** Stages of the worker's path, by module file. */
const STAGES = [
  ['ring, drain loop', /\/(ring-reader|framing|drain-loop|worker-runtime)\.js$/],
  ['decode (records, ids)', /\/(record-decoder|id-hex|open-span-table|fields)\.js$/],
  ['fan-out', /\/(fan-out|sink-slot|levels|target-filter)\.js$/],
  ['assemble spans', /\/span-assembler\.js$/],
  ['sink, queue', /\/(otlp-sink|otlp-signal-exporter)\.js$/],
  ['encode OTLP', /\/(trace-encoder|protobuf-writer|any-value|batch-layout)\.js$/],
  ['transport (http, net)', /^node:(_http|http|net|stream|internal\/(http|stream|streams|net))|\/otlp-transport\.js$|node:internal\/stream_base/],
  ['gzip', /zlib/],
  ['garbage collector', /^\(garbage collector\)$/],
];

function stageOf(url, name) {
  const key = url === '' ? name : url;
  for (const [stage, re] of STAGES) if (re.test(key)) return stage;
  return url === '' ? name : 'other (node internals, timers, promises)';
}

/** Self time by stage, module and function of a .cpuprofile, without idle time and the gate's wait. */
export function summariseProfile(profile, windows) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const gated = new Set();
  for (const n of profile.nodes) {
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      if (byId.get(id).callFrame.url.endsWith('counting-sink.js')) {
        gated.add(n.id);
        break;
      }
    }
  }
  const self = new Map();
  let busy = 0;
  let t = profile.startTime;
  const inWindow = (at) => windows.some(([from, to]) => at >= from && at < to);
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    t += profile.timeDeltas[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const n = byId.get(id);
    if (n.callFrame.functionName === '(idle)' || gated.has(id) || !inWindow(t)) continue;
    busy += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const add = (map, key, dt) => map.set(key, (map.get(key) ?? 0) + dt);
  const stages = new Map();
  const modules = new Map();
  const functions = new Map();
  for (const [id, dt] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const mod = url === '' ? functionName : url.startsWith('node:') ? url : basename(url);
    add(stages, stageOf(url, functionName), dt);
    add(modules, mod, dt);
    add(functions, `${functionName || '(anonymous)'} ${mod}${url === '' ? '' : `:${lineNumber + 1}`}`, dt);
  }
  const sorted = (map, k) => [...map].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, us]) => ({ name, share: us / busy, us }));
  return { busyUs: busy, stages: sorted(stages, 20), modules: sorted(modules, 20), functions: sorted(functions, 30) };
}

function profileReport(summary) {
  const rows = (list) => list.map((x) => [x.name, `${fmt(x.share * 100, 1)}%`]);
  return [
    `worker busy time in the profile: ${fmt(summary.busyUs / 1e3, 0)} ms`,
    '',
    table(['self time by stage', 'share'], rows(summary.stages)),
    '',
    table(['self time by module', 'share'], rows(summary.modules)),
    '',
    table(['self time by function', 'share'], rows(summary.functions)),
  ].join('\n');
}

/** Run the measurement in a child under --cpu-prof and summarise the worker's profile. */
function profileChild({ spans, rounds, compressions, sinkOptions }) {
  const dir = mkdtempSync(join(tmpdir(), 'export-capacity-prof-'));
  try {
    const child = spawnSync(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '250', SELF, '--spans', String(spans), '--rounds', String(rounds), '--compression', compressions.join(','), '--sink-options', JSON.stringify(sinkOptions), '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (child.status !== 0) throw new Error(`profiled run exited with ${child.status}`);
    // CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile: the main thread is thread 0.
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] !== '0');
    if (files.length === 0) throw new Error('the worker wrote no profile');
    const file = files.map((f) => join(dir, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0];
    const run = JSON.parse(child.stdout.trim().split('\n').pop());
    const windows = run.results.flatMap((res) => res.rounds.map((r) => r.window));
    return { run, summary: summariseProfile(JSON.parse(readFileSync(file, 'utf8')), windows) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes('--receiver')) {
    runReceiver();
  } else {
    const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
    const c = opt('--compression') ?? 'both';
    const options = {
      spans: opt('--spans') === undefined ? undefined : Number(opt('--spans')),
      rounds: opt('--rounds') === undefined ? undefined : Number(opt('--rounds')),
      compressions: c === 'both' ? ['none', 'gzip'] : c.split(','),
      sinkOptions: JSON.parse(opt('--sink-options') ?? '{}'),
    };
    if (args.includes('--profile')) {
      const { run, summary } = profileChild({ spans: options.spans ?? 300_000, rounds: options.rounds ?? 1, compressions: options.compressions, sinkOptions: options.sinkOptions });
      if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), run, profile: summary }));
      else console.log(`${JSON.stringify(machine())}\n\n(under --cpu-prof)\n${exportCapacityReport(run)}\n\n${profileReport(summary)}`);
    } else {
      const out = await runExportCapacity(options);
      if (args.includes('--json')) console.log(JSON.stringify({ machine: machine(), ...out }));
      else console.log(`${JSON.stringify(machine())}\n\n${exportCapacityReport(out)}`);
    }
  }
}
