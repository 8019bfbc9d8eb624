/**
 * Runs examples/custom-sink for real: `node examples/custom-sink/app.js`
 * against the built package (the example imports 'ringtrace', which resolves
 * to dist/ through package.json exports). Builds first when dist/ is older
 * than the sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

t.test('the custom sink example runs and reports what its filter lets through', async (t) => {
  const built = join(ROOT, 'dist/src/index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'workers')))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  }
  const report = join(t.testdir(), 'slow.log');
  const run = spawnSync(process.execPath, ['examples/custom-sink/app.js', report], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, `exits cleanly: ${run.stderr}`);
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    counts: { spans: number; slowSpans: number; errorEvents: number; flushes: number };
    delivered: number;
    filtered: number;
    failed: number;
  };
  t.match(result.counts, { spans: 4, slowSpans: 2, errorEvents: 1 }, 'four shop spans, two slow, one error; health filtered');
  t.ok(result.counts.flushes >= 1);
  t.equal(result.failed, 0);
  t.equal(result.delivered, 4 * 2 + 1 + 1, 'start and end of each span, one status, one event');

  const lines = readFileSync(report, 'utf8').trim().split('\n');
  t.match(lines[0], /^SLOW shop GET \/slow \d+\.\dms trace=[0-9a-f]{32}$/);
  t.match(lines[1], /^ERROR shop GET \/slower timed out trace=/, 'the error event, inside the span');
  t.match(lines[2], /^SLOW shop GET \/slower /);
  t.match(lines[3], /^SUMMARY \{"spans":4,"slowSpans":2,"errorEvents":1,/, 'close() wrote the summary');
  t.equal(lines.length, 4);
});

t.test('a bad option makes start() reject with a SinkError naming the sink and the option', async (t) => {
  const run = spawnSync(process.execPath, ['test/fixtures/custom-sink-bad-option.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  t.match(run.stdout, /SinkError: ringtrace: sink "slow": factory failed: .*option thresholdMs must be a number >= 0, got -1/, `stdout: ${run.stdout} stderr: ${run.stderr}`);
});
