/**
 * Runs examples/piscina for real: `node examples/piscina/app.js FILE`
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

interface Line {
  kind: string;
  spanName: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

t.test('the piscina example: the pool\'s spans in the NDJSON file, children of batch, every record accounted for', async (t) => {
  const built = join(ROOT, 'dist/src/index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'workers')))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  }
  const file = join(t.testdir(), 'trace.ndjson');
  const run = spawnSync(process.execPath, ['examples/piscina/app.js', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, `exits cleanly: ${run.stderr}`);
  const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    threads: { id: number; name: string; written: number; dropped: number }[];
    written: number;
    decoded: number;
    dropped: number;
  };
  const starts = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.kind === 'spanStart');
  const batch = starts.filter((s) => s.spanName === 'batch');
  const resize = starts.filter((s) => s.spanName === 'resize');
  const encode = starts.filter((s) => s.spanName === 'encode');
  t.equal(batch.length, 1);
  t.equal(resize.length, 20, 'a resize span per image');
  t.equal(encode.length, 20, 'an encode span in each');
  t.ok(resize.every((s) => s.traceId === batch[0]!.traceId && s.parentSpanId === batch[0]!.spanId), 'each resize span a child of batch');
  const resizeIds = new Set(resize.map((s) => s.spanId));
  t.ok(encode.every((s) => resizeIds.has(s.parentSpanId ?? '')), 'each encode span a child of a resize span');
  t.equal(summary.dropped, 0);
  t.equal(summary.decoded, summary.written, 'every record written was decoded');
  t.equal(summary.written, 2 * (1 + 20 + 20), 'a start and an end record per span');
  t.ok(summary.threads.some((th) => th.id !== 0 && th.written > 0), 'records from the pool\'s threads');
  t.equal(summary.threads.reduce((s, th) => s + th.written, 0), summary.written, 'the threads\' counts add up to the total');
});
