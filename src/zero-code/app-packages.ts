/**
 * The application's packages, as the application would `require` them:
 * resolved from its main script (`process.argv[1]`), else from its working
 * directory — never from ringtrace's own folder, so a ringtrace installed
 * elsewhere (globally, linked, in an image layer) still finds the
 * instrumentations and propagators the application installed.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';

/** Where resolution starts: the main script's folder, then the working directory. */
export function applicationRoots(argv1: string | undefined = process.argv[1], cwd: string = process.cwd()): string[] {
  const roots: string[] = [];
  if (argv1 !== undefined && argv1 !== '') {
    const main = resolve(cwd, argv1);
    roots.push(dirname(main));
    // A symlinked main script resolves, as Node resolves it, from its real place too.
    try {
      const real = dirname(realpathSync(main));
      if (!roots.includes(real)) roots.push(real);
    } catch {
      // No such file yet (`node -e`, a REPL): the folder is still a start.
    }
  }
  if (!roots.includes(cwd)) roots.push(cwd);
  return roots;
}

/** A package of the application's, found from `roots`. */
export interface AppPackage {
  /** The resolved file of the specifier. */
  path: string;
  /** A `require` that resolves from that package's place, for its own dependencies. */
  require: NodeJS.Require;
  /** The package's exports, loaded with `require`. */
  exports: unknown;
}

/** Resolve `specifier` from the application; undefined when it does not have it. */
export function resolveFromApp(specifier: string, roots: readonly string[] = applicationRoots()): string | undefined {
  for (const root of roots) {
    try {
      return createRequire(join(root, 'noop.js')).resolve(specifier);
    } catch {
      // Not from here; try the next root.
    }
  }
  return undefined;
}

/** Load `specifier` (a CommonJS-loadable package) from the application, or undefined when it does not have it. */
export function requireFromApp(specifier: string, roots: readonly string[] = applicationRoots()): AppPackage | undefined {
  const path = resolveFromApp(specifier, roots);
  if (path === undefined) return undefined;
  const req = createRequire(path);
  return { path, require: req, exports: req(path) as unknown };
}
