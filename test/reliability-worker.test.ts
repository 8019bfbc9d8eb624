/**
 * Worker death, failed sink loads, hanging and slow sinks, and the worker's
 * execArgv, with child processes that really do the bad thing (fixture sinks
 * under test/fixtures/, see reliability-worker.mjs). The children run in
 * parallel on a compiled build, to keep this file fast.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { workerExecArgv } from '../src/worker-exec-argv.js';
import { compileForChildren } from './fixtures/compiled-build.js';

const fixture = new URL('./fixtures/reliability-worker.mjs', import.meta.url).pathname;
const build = compileForChildren();
t.teardown(build.remove);
const dir = mkdtempSync(join(tmpdir(), 'ringtrace-worker-'));
const childEnv = { ...process.env };
delete childEnv['NODE_OPTIONS'];

interface Outcome {
  code: number | null;
  stderr: string;
  out: any;
}

function run(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let out: unknown = null;
      try {
        out = JSON.parse(stdout);
      } catch {
        // left null: the assertions below say what was expected
      }
      resolve({ code, stderr, out });
    });
  });
}

const scenarios = ['start-race', 'death-throw', 'death-exit', 'death-oom', 'giveup', 'load-fail', 'hang-flush', 'hang-close', 'slow'] as const;
const execArgvScript = `
const { TraceDispatcher } = await import(${JSON.stringify(`${build.dir}/src/index.js`)});
const d = await TraceDispatcher.start({ sinks: [{ name: 'argv', module: ${JSON.stringify(new URL('./fixtures/exec-argv-sink.mjs', import.meta.url).href)} }] });
const workerArgv = await d.inspectSink('argv');
await d.shutdown();
console.log(JSON.stringify({ main: process.execArgv, worker: workerArgv }));`;
const v8FlagsScript = join(dir, 'v8-flags.mjs');
writeFileSync(v8FlagsScript, execArgvScript);
const [execArgvRun, v8FlagsRun, ...outcomes] = await Promise.all([
  run(['--input-type=module', '--eval', execArgvScript]),
  run(['--expose-gc', '--max-old-space-size=256', v8FlagsScript]),
  ...scenarios.map((s) => run([fixture, build.dir, s, mkdtempSync(join(dir, `${s}-`))])),
]);
const outcome = new Map(scenarios.map((s, i) => [s, outcomes[i]!] as const));

function ok(t: Test, o: Outcome): boolean {
  t.equal(o.code, 0, 'the child ended normally');
  return t.ok(o.out !== null, `it reported its findings (stderr: ${o.stderr.slice(-500)})`);
}

t.test('workerExecArgv drops the entry options and their values, keeps the rest', async (t) => {
  t.same(workerExecArgv(['--input-type=module', '-e', 'code', '--import', 'x.js']), ['--import', 'x.js']);
  t.same(workerExecArgv(['--input-type', 'module', '--eval=code', '--enable-source-maps']), ['--enable-source-maps']);
  t.same(workerExecArgv(['--print', '1', '-p', '2', '-pe', '3', '--conditions=dev']), ['--conditions=dev']);
  t.same(workerExecArgv(['--loader', 'ts-node/esm', '--inspect']), ['--loader', 'ts-node/esm', '--inspect']);
});

t.test('a program run with --input-type=module --eval starts the dispatcher; its worker gets neither option', async (t) => {
  if (!ok(t, execArgvRun)) return;
  t.ok((execArgvRun.out.main as string[]).includes('--input-type=module'), 'the main program has them');
  t.same(execArgvRun.out.worker, [], 'the worker has none of them (nor the script)');
});

t.test('a program run with V8 and per-process flags (--expose-gc, --max-old-space-size) starts the dispatcher; its worker inherits them', async (t) => {
  // Node rejects these in an explicit Worker execArgv (ERR_WORKER_INVALID_EXEC_ARGV).
  if (!ok(t, v8FlagsRun)) return;
  t.same(v8FlagsRun.out.worker, ['--expose-gc', '--max-old-space-size=256']);
});

t.test('start(): a sink factory that throws and leaves a throwing timer behind is a SinkError naming it, every time', async (t) => {
  const o = outcome.get('start-race')!;
  if (!ok(t, o)) return;
  t.equal(o.out.errors.length, 10);
  for (const e of o.out.errors as string[]) t.match(e, /^SinkError\|broken\|.*factory failed: cannot construct this sink/);
});

for (const how of ['throw', 'exit', 'oom'] as const) {
  t.test(`a sink that kills the worker (${how}): respawned, re-seeded, records still in the ring delivered, reported`, async (t) => {
    const o = outcome.get(`death-${how}`)!;
    if (!ok(t, o)) return;
    const { restarts, lostInFlight, mem, final } = o.out as {
      restarts: number;
      lostInFlight: number;
      mem: { target: string; message: string; seq?: number; fields: Record<string, unknown> }[];
      final: { offered: number; written: number; dropped: number; oversize: number; decoded: number };
    };
    t.equal(restarts, 1, 'one restart counted');
    // Everything before 'die' was flushed by every sink (flush() resolved), so at most 'die' itself was in flight.
    t.ok(lostInFlight >= 0 && lostInFlight <= 1, `lostInFlight ${lostInFlight}: at most the record the worker died on`);
    const notice = mem.find((e) => e.target === 'ringtrace' && e.message === 'dispatcher worker died and was restarted');
    t.ok(notice, 'an error event on target ringtrace says what happened');
    t.match(notice?.fields, { restarts: 1, lost_in_flight: lostInFlight, reason: how === 'oom' ? /memory limit/ : how === 'exit' ? /exited with code 7/ : /sink blew up outside any call/ });
    // 'after' and 'later' use the target and messages interned before the death: the re-seeded string table decodes them.
    const seqs = (m: string): number[] => mem.filter((e) => e.target === 'app' && e.message === m).map((e) => e.seq!);
    t.same(seqs('after'), Array.from({ length: 99 }, (_, i) => 101 + i), 'records written while the worker was dead all reached the new sinks');
    t.same(seqs('before'), [], 'records the dead worker had delivered are not delivered again');
    t.same(seqs('die'), [], 'nor the one it died on');
    t.same(seqs('later'), Array.from({ length: 100 }, (_, i) => 200 + i), 'and later ones');
    t.equal(final.offered, final.written + final.dropped + final.oversize, 'offered == written + dropped + oversize');
    t.equal(final.decoded, final.written, 'decoded == written');
    t.match(o.stderr, /dispatcher worker died and was restarted/, 'stderr says so too');
  });
}

t.test('a sink that kills every worker: the dispatcher gives up once, loudly, and the application carries on', async (t) => {
  const o = outcome.get('giveup')!;
  if (!ok(t, o)) return;
  t.equal(o.out.givenUp, true, 'workerGivenUp');
  t.equal(o.out.restarts, 3, 'maxWorkerRestarts 2: three deaths, then no more');
  t.same(o.out.threw, [], 'logger, span, flush(), stats() and shutdown() neither threw nor rejected');
  t.equal(o.stderr.match(/no more restarts/g)?.length, 1, 'stderr says it gave up, once');
  const s = o.out.final;
  t.ok(s.dropped > 0, 'the producer counts drops once the ring is full');
  t.equal(s.offered, s.written + s.dropped + s.oversize, 'offered == written + dropped + oversize');
});

t.test('a sink module that fails to load: a SinkError from start() and addSink(), no respawn', async (t) => {
  const o = outcome.get('load-fail')!;
  if (!ok(t, o)) return;
  t.match(o.out.start, /^SinkError\|unloadable\|.*cannot load module .*this sink module cannot load/);
  t.match(o.out.addSink, /^SinkError\|unloadable\|.*cannot load module .*this sink module cannot load/);
  t.equal(o.out.restarts, 0, 'the worker did not die');
  t.same(o.out.mem.map((e: { message: string }) => e.message), ['still here'], 'the dispatcher still delivers');
});

t.test('a sink whose flush never settles: timed out, counted, reported; the others keep flowing; shutdown ends', async (t) => {
  const o = outcome.get('hang-flush')!;
  if (!ok(t, o)) return;
  const byName = Object.fromEntries((o.out.sinks as { name: string }[]).map((s) => [s.name, s])) as unknown as Record<
    string,
    { delivered: number; flushFailures: number; skippedFlushes: number }
  >;
  t.equal(byName['hang']!.flushFailures, 1, 'the first flush timed out (flushFailures)');
  t.ok(byName['hang']!.skippedFlushes >= 1, 'later flushes were skipped while it was still pending: calls never overlap');
  t.equal(byName['mem']!.flushFailures, 0);
  t.equal(byName['mem']!.delivered, 20, 'the healthy sinks got every record');
  t.equal(byName['file']!.delivered, 20);
  const notice = (o.out.mem as { target: string; message: string; fields: Record<string, unknown> }[]).find((e) => e.target === 'ringtrace' && e.message === 'sink flush failed');
  t.match(notice?.fields, { sink: 'hang', error: /flush did not settle within 200 ms/ }, 'a diagnostic event on target ringtrace');
  // The final flush is skipped and close waits one sinkTimeoutMs (200) for the pending flush, then retires the sink.
  t.ok(o.out.shutdownMs >= 190 && o.out.shutdownMs < 3000, `shutdown() took ${o.out.shutdownMs} ms: one sink timeout, bounded`);
  t.match(o.stderr, /sink retired without close/);
  t.equal(o.out.final.decoded, o.out.final.written);
});

t.test('a sink whose close never settles: timed out and reported; shutdown ends', async (t) => {
  const o = outcome.get('hang-close')!;
  if (!ok(t, o)) return;
  t.match(o.stderr, /close did not settle within 200 ms/, 'reported');
  t.ok(o.out.shutdownMs >= 190 && o.out.shutdownMs < 3000, `shutdown() took ${o.out.shutdownMs} ms: one sink timeout, bounded`);
  t.equal(o.out.final.decoded, o.out.final.written);
});

t.test('a slow sink cannot block the producer: the ring fills, drops are counted and noticed', async (t) => {
  const o = outcome.get('slow')!;
  if (!ok(t, o)) return;
  const p = o.out.producer;
  t.equal(p.offered, 20_000, 'every record offered returned');
  t.ok(p.dropped > 0, 'drops counted');
  t.equal(p.offered, p.written + p.dropped + p.oversize);
  t.ok(o.out.notices.length >= 1, 'the drop notice reached the sink');
  t.equal(o.out.notices[0].fields.dropped_count > 0, true);
  t.equal(o.out.droppedReported, o.out.final.dropped, 'every drop was reported');
  t.equal(o.out.final.decoded, o.out.final.written);
});
