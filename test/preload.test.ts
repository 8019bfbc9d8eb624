/**
 * Never start inside itself (issue 6): the set-up file the OpenTelemetry
 * docs tell users to write, run with `node --import ./tracing.mjs app.mjs`.
 * Node runs that preload again inside every worker thread, ringtrace's own
 * dispatcher worker included. The app must run, its spans must reach the
 * NDJSON file, and the process must exit by itself — also when the app
 * starts a worker thread of its own (which gets an inert dispatcher).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compileForChildren } from './fixtures/compiled-build.js';

const build = compileForChildren();
t.teardown(build.remove);
// Inside the build folder (under node_modules/.cache), so the children resolve @opentelemetry/api.
const dir = join(build.dir, 'preload-app');
mkdirSync(dir, { recursive: true });
const childEnv = { ...process.env };
delete childEnv['NODE_OPTIONS'];

writeFileSync(
  join(dir, 'tracing.mjs'),
  `import { isMainThread } from 'node:worker_threads';
import { TraceDispatcher } from ${JSON.stringify(`${build.dir}/src/index.js`)};
const d = await TraceDispatcher.start({ serviceName: 'preloaded', sinks: [{ name: 'file', sink: 'ndjson', filter: 'info', options: { destination: process.env.RINGTRACE_TEST_OUT } }] });
d.install();
globalThis.__ringtraceTest = { inert: d.inert ?? null, mainThread: isMainThread };
globalThis.__ringtraceDispatcher = d;
`,
);
writeFileSync(
  join(dir, 'app.mjs'),
  `import { trace } from '@opentelemetry/api';
import { Worker } from 'node:worker_threads';
const tracer = trace.getTracer('app');
for (let i = 0; i < 10; i++) tracer.startActiveSpan('work ' + i, (span) => span.end());
if (process.argv[2] === 'with-worker') {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url));
  const reply = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  console.log(JSON.stringify({ main: globalThis.__ringtraceTest, worker: reply }));
  tracer.startSpan('after the worker').end();
} else {
  console.log(JSON.stringify({ main: globalThis.__ringtraceTest }));
}
`,
);
writeFileSync(
  join(dir, 'worker.mjs'),
  `import { parentPort } from 'node:worker_threads';
import { trace } from '@opentelemetry/api';
const span = trace.getTracer('in-worker').startSpan('worker span');
span.end();
const d = globalThis.__ringtraceDispatcher;
const addSink = await d.addSink({ name: 'x', sink: 'memory' }).then(() => 'added', (e) => e.code);
const inspect = await d.inspectSink('x').then(() => 'inspected', (e) => e.code);
await d.flush();
const stats = await d.stats();
const final = await d.shutdown();
parentPort.postMessage({ ...globalThis.__ringtraceTest, recording: span.isRecording(), addSink, inspect, written: stats.written, decoded: final.decoded, sinks: final.sinks.length });
`,
);

function run(mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; spans: string[]; ms: number }> {
  const out = join(dir, `${mode}.ndjson`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './tracing.mjs', 'app.mjs', mode], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...childEnv, RINGTRACE_TEST_OUT: out } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    // It used to hang forever at full CPU: a child still running after this is the failure.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '') : [];
      const spans = lines.map((l) => JSON.parse(l) as { kind: string; spanName?: string }).filter((r) => r.kind === "spanEnd").map((r) => r.spanName ?? "");
      resolve({ code, signal, stdout, stderr, spans, ms: performance.now() - started });
    });
  });
}

const [alone, withWorker] = await Promise.all([run('alone'), run('with-worker')]);

t.test('node --import ./tracing.mjs app.mjs: the app runs, its spans reach the sink, the process exits by itself', async (t) => {
  t.equal(alone.signal, null, `not killed after 30 s (stderr: ${alone.stderr.slice(-1000)})`);
  t.equal(alone.code, 0);
  t.same(JSON.parse(alone.stdout), { main: { inert: null, mainThread: true } }, 'the main thread got a working dispatcher');
  t.same(alone.spans, Array.from({ length: 10 }, (_, i) => `work ${i}`));
});

t.test('the same app starting a worker thread of its own: the worker gets an inert dispatcher, nothing hangs', async (t) => {
  t.equal(withWorker.signal, null, `not killed after 30 s (stderr: ${withWorker.stderr.slice(-1000)})`);
  t.equal(withWorker.code, 0);
  const out = JSON.parse(withWorker.stdout) as { main: unknown; worker: Record<string, unknown> };
  t.same(out.main, { inert: null, mainThread: true });
  t.same(
    out.worker,
    { inert: 'a worker thread', mainThread: false, recording: false, addSink: 'RINGTRACE_INERT', inspect: 'RINGTRACE_INERT', written: 0, decoded: 0, sinks: 0 },
    "the app's worker: inert, its spans non-recording; flush, stats and shutdown resolve, sinks are refused with a code",
  );
  t.same(withWorker.spans, [...Array.from({ length: 10 }, (_, i) => `work ${i}`), 'after the worker']);
});
