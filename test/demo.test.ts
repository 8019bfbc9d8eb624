// The README's quick-start demo runs: it prints the spans and events on the
// console through the pino sink and writes every record to demo-trace.ndjson.
// It imports the built package (dist/, made by `npm install`'s prepare step).
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const demo = fileURLToPath(new URL('../examples/demo.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));

t.test('the demo runs and shows its spans and events', { skip: existsSync(built) ? false : 'dist/ not built (npm install runs the build)' }, async (t) => {
  const cwd = t.testdir({});
  const { stdout } = await promisify(execFile)(process.execPath, [demo], { cwd, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  t.match(stdout, /POST \/checkout/, 'the root span reaches the console');
  t.match(stdout, /card charged/, 'the pino line reaches the console');
  t.match(stdout, /inventory check skipped/, 'the structured event reaches the console');
  t.notMatch(stdout, /cart cleared/, 'the debug event is below the console filter');
  t.match(stdout, /10 records written, 10 decoded, 0 dropped/);
  const lines = readFileSync(`${cwd}/demo-trace.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; message?: string; traceId?: string });
  t.equal(lines.length, 10, 'every record is in the NDJSON file');
  t.ok(lines.some((l) => l.kind === 'event' && l.message === 'cart cleared'), 'the file sink takes debug events');
  const traceIds = new Set(lines.map((l) => l.traceId).filter((id) => id !== undefined));
  t.equal(traceIds.size, 1, 'spans, events and pino lines share one trace');
});
