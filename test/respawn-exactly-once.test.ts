/**
 * Exactly once across respawns (issue 6): in child processes, a sink that
 * writes in `flush` (as real sinks do) kills its worker with process.exit()
 * at random moments under a steady load, 20 times in all (five children,
 * four kills each: the respawn backoff doubles per consecutive death). No
 * record reaches the file twice, and what is missing is exactly
 * `lostInFlight`: records handed to the dead worker's sinks since the last
 * flush every sink completed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { compileForChildren } from './fixtures/compiled-build.js';

const fixture = new URL('./fixtures/respawn-under-load.mjs', import.meta.url).pathname;
const build = compileForChildren();
t.teardown(build.remove);
const dir = mkdtempSync(join(tmpdir(), 'ringtrace-respawn-'));
const childEnv = { ...process.env };
delete childEnv['NODE_OPTIONS'];
const CHILDREN = 5;
const KILLS = 4;

interface Counts {
  sent: number;
  kills: number;
  restarts: number;
  lostInFlight: number;
  written: number;
  dropped: number;
  decoded: number;
  corrupt: number;
}

function run(i: number): Promise<{ code: number | null; stderr: string; counts: Counts | null; seqs: number[] }> {
  const file = join(dir, `${i}.seq`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, build.dir, file, join(dir, `${i}.kills`), String(KILLS)], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let counts: Counts | null = null;
      try {
        counts = JSON.parse(stdout) as Counts;
      } catch {
        // left null: asserted below
      }
      const seqs = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number) : [];
      resolve({ code, stderr, counts, seqs });
    });
  });
}

const outcomes = await Promise.all(Array.from({ length: CHILDREN }, (_, i) => run(i)));
let kills = 0;
let lost = 0;
for (const [i, o] of outcomes.entries()) {
  t.test(`child ${i}: ${KILLS} kills under load, nothing twice, missing == lostInFlight`, async (t) => {
    t.equal(o.code, 0, `the child ended normally (stderr: ${o.stderr.slice(-2000)})`);
    const c = o.counts;
    if (c === null) return void t.fail('no counts reported');
    t.equal(c.kills, KILLS, 'the sink killed its worker as often as asked');
    t.equal(c.restarts, KILLS, 'every death was a restart');
    t.equal(c.dropped, 0, 'the ring never overflowed (so every record sent was written)');
    t.equal(c.written, c.sent);
    t.equal(c.decoded + c.corrupt, c.written, 'decoded + corrupt == written');
    const unique = new Set(o.seqs);
    t.equal(unique.size, o.seqs.length, 'no record reached the sink twice');
    for (const s of unique) if (!(s >= 0 && s < c.sent)) t.fail(`a record that was never sent: ${s}`);
    const missing = c.sent - unique.size;
    t.equal(missing, c.lostInFlight, `missing (${missing}) == lostInFlight (${c.lostInFlight})`);
    kills += c.kills;
    lost += c.lostInFlight;
  });
}
t.test('in all', async (t) => {
  t.equal(kills, CHILDREN * KILLS, '20 worker deaths');
  t.comment(`lostInFlight per respawn: ${(lost / Math.max(1, kills)).toFixed(1)} records`);
});
