/**
 * The worker's diagnostics reach stderr as pino lines, in a real dispatcher
 * (the worker loads pino only when it logs its first diagnostic).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../dist/src/index.js', import.meta.url));

t.test('a sink that throws is reported on stderr as a pino error line', { skip: built ? false : 'dist/ not built (npm install runs the build)' }, async (t) => {
  const run = spawnSync(process.execPath, ['test/fixtures/diagnostic-stderr.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, `exits cleanly: ${run.stderr}`);
  const lines = run.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const report = lines.find((l) => l['sink'] === 'bad');
  t.ok(report, `a line about the sink: ${run.stderr}`);
  t.match(report, { level: 50, name: 'ringtrace', pid: Number, error: /consume exploded/ });
  t.type(report?.['msg'], 'string');
});
