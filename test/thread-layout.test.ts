/**
 * Which thread loads what. The application thread's entry points (the
 * package, `ringtrace/register`) must not load a module only the dispatcher
 * worker needs (the decoder, the sinks, the drain loop), and the worker's
 * entry must not load capture (the OpenTelemetry providers, the encoder).
 * Read from the source's runtime imports (`import type` is erased), followed
 * transitively.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Modules that run only in the dispatcher worker. */
const WORKER_ONLY = [/^workers\//, /^src\/decoder\//, /^src\/sinks\/(?!(trace-sink|builtin-sinks|otlp-config|dispatcher-health)\.ts$)/];
/** Modules that run only on an application thread. */
const APP_ONLY = [/^src\/capture\//, /^src\/encoder\//, /^src\/dispatcher\.ts$/, /^src\/worker-supervisor\.ts$/, /^src\/zero-code\//, /^src\/metrics\//];

/** Whether an import or export clause brings in a value (not only types). */
function bringsValues(clause: string): boolean {
  const braces = /\{([^}]*)\}/.exec(clause);
  const outside = clause.replace(/\{[^}]*\}/, '').replace(/,/g, ' ').trim();
  if (outside !== '') return true; // a default import or `* as ns`
  if (braces === null) return true;
  return braces[1]!
    .split(',')
    .map((s) => s.trim())
    .some((s) => s !== '' && !s.startsWith('type '));
}

/** The relative modules `file` imports at run time. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"](\.[^'"]+)['"]/g;
  for (let m = statement.exec(text); m !== null; m = statement.exec(text)) {
    if (m[2] === undefined && bringsValues(m[3]!)) specs.push(m[4]!);
  }
  const bare = /(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (let m = bare.exec(text); m !== null; m = bare.exec(text)) specs.push((m[1] ?? m[2])!);
  const out: string[] = [];
  for (const spec of specs) {
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    const found = [target, target.replace(/\.ts$/, '.cts'), target.replace(/\.ts$/, '.mts')].find((c) => existsSync(c));
    if (found !== undefined) out.push(found);
  }
  return out;
}

/** The packages `file` imports at run time (value imports of bare specifiers). */
function packageImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^.'"][^'"]*)['"]/g;
  for (let m = statement.exec(text); m !== null; m = statement.exec(text)) {
    if (m[2] === undefined && bringsValues(m[3]!)) out.push(m[4]!);
  }
  return out;
}

function closure(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = entries.map((e) => join(root, e));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...runtimeImports(file));
  }
  return new Set([...seen].map((f) => relative(root, f)));
}

t.test('the application thread loads no worker-only module', async (t) => {
  const loaded = closure(['src/index.ts', 'src/zero-code/register.ts']);
  t.ok(loaded.has('src/capture/ring-tracer.ts') && loaded.has('src/encoder/record-encoder.ts'), 'the walk reaches capture and the encoder');
  const leaked = [...loaded].filter((f) => WORKER_ONLY.some((re) => re.test(f))).sort();
  t.same(leaked, [], 'worker-only modules loaded on the application thread');
});

t.test('the dispatcher worker loads no capture', async (t) => {
  const loaded = closure(['workers/dispatcher-worker.ts']);
  t.ok(loaded.has('workers/drain-loop.ts') && loaded.has('src/decoder/record-decoder.ts'), 'the walk reaches the drain loop and the decoder');
  const leaked = [...loaded].filter((f) => APP_ONLY.some((re) => re.test(f))).sort();
  t.same(leaked, [], 'application-only modules loaded in the worker');
});

t.test('the dispatcher worker with an otlp sink loads no pino and no OpenTelemetry package up front', async (t) => {
  // They are required when first needed (a diagnostic, a metrics export): ~13 MiB of the worker's memory otherwise.
  const loaded = closure(['workers/dispatcher-worker.ts', 'src/sinks/otlp-sink.ts']);
  t.ok(loaded.has('src/sinks/otlp/trace-encoder.ts') && loaded.has('workers/diagnostics.ts'), 'the walk reaches the encoder and the diagnostics');
  const packages = new Set([...loaded].flatMap((f) => packageImports(join(root, f))));
  t.ok(packages.has('node:net'), 'the walk sees package imports');
  t.same([...packages].filter((p) => p === 'pino' || p.startsWith('@opentelemetry/')).sort(), []);
});
