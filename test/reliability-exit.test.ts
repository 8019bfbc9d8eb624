/**
 * Nothing lost at exit: child processes that really exit (process.exit, an
 * uncaught exception, SIGTERM/SIGINT, a natural end) without shutdown(); the
 * NDJSON file must hold every record written before. The children run in
 * parallel, on a compiled build, to keep this file fast.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { compileForChildren } from './fixtures/compiled-build.js';

const fixture = new URL('./fixtures/reliability-exit.mjs', import.meta.url).pathname;
const compileStarted = Date.now();
const build = compileForChildren();
t.comment(`compiled in ${Date.now() - compileStarted} ms`);
t.teardown(build.remove);
const dir = mkdtempSync(join(tmpdir(), 'ringtrace-exit-'));
const N = 50_000;
// The children are plain Node processes: none of the test runner's loaders.
const childEnv = { ...process.env };
delete childEnv['NODE_OPTIONS'];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  lines: string[];
}

function runChild(mode: string): Promise<Outcome> {
  const file = join(dir, `${mode}.ndjson`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, build.dir, mode, file, String(N)], { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A child that does not end by itself is a failure (it is killed so the test ends).
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
      resolve({ code, signal, stderr, lines });
    });
  });
}

const modes = {
  exit: { code: 0, signal: null },
  throw: { code: 1, signal: null },
  sigterm: { code: 143, signal: 'SIGTERM' },
  sigint: { code: 130, signal: 'SIGINT' },
  'own-sigterm': { code: 3, signal: null },
  natural: { code: 0, signal: null },
} as const;

const outcomes = new Map(await Promise.all(Object.keys(modes).map(async (mode) => [mode, await runChild(mode)] as const)));

function checkAll(t: Test, o: Outcome): void {
  const records = o.lines.map((l) => JSON.parse(l) as { kind: string; fields?: { seq: number }; spanName?: string; attributes?: Record<string, unknown> });
  const events = records.filter((r) => r.kind === 'event');
  t.equal(events.length, N, `the file holds all ${N} events`);
  const seqs = events.map((r) => r.fields!.seq);
  t.ok(seqs.every((s, i) => s === i), 'in order, none missing or repeated');
  const open = records.filter((r) => r.kind !== 'event');
  t.same(
    open.map((r) => [r.kind, r.spanName, r.attributes?.['held']]),
    [['spanStart', 'open at exit', true]],
    'and the start of the span still open at exit, which the producer held until then',
  );
}

t.test('process.exit(0) after N records: the NDJSON file holds all N', async (t) => {
  const o = outcomes.get('exit')!;
  t.same({ code: o.code, signal: o.signal }, modes.exit, 'exit status unchanged');
  checkAll(t, o);
});

t.test('an uncaught exception: default handling (code 1, error printed), and all N records', async (t) => {
  const o = outcomes.get('throw')!;
  t.same({ code: o.code, signal: o.signal }, modes.throw, 'exit status unchanged');
  t.match(o.stderr, /uncaught on purpose/, 'the exception is still reported');
  checkAll(t, o);
});

t.test('SIGTERM with no listener of the application: still dies of SIGTERM, and all N records', async (t) => {
  const o = outcomes.get('sigterm')!;
  t.ok(o.signal === 'SIGTERM' || o.code === modes.sigterm.code, `dies of the signal (or exits 143), as without ringtrace: ${o.code} ${o.signal}`);
  checkAll(t, o);
});

t.test('SIGINT with no listener of the application: still dies of SIGINT, and all N records', async (t) => {
  const o = outcomes.get('sigint')!;
  t.ok(o.signal === 'SIGINT' || o.code === modes.sigint.code, `dies of the signal (or exits 130): ${o.code} ${o.signal}`);
  checkAll(t, o);
});

t.test("SIGTERM with the application's own listener: its listener decides (exit 3), and all N records", async (t) => {
  const o = outcomes.get('own-sigterm')!;
  t.same({ code: o.code, signal: o.signal }, modes['own-sigterm']);
  checkAll(t, o);
});

t.test('natural end without shutdown(): the dispatcher does not keep the process alive, and all N records', async (t) => {
  const o = outcomes.get('natural')!;
  t.same({ code: o.code, signal: o.signal }, modes.natural, 'the process ended by itself');
  checkAll(t, o);
});
