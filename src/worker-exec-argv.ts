/**
 * The `execArgv` the dispatcher worker gets: the application's own, minus
 * what only makes sense for the main program's entry. A worker inherits
 * `process.execArgv` by default, so a program started with
 * `node --input-type=module -e '…'` would hand `--input-type` and its script
 * to the worker, which Node rejects (`--input-type` is for string input only)
 * or would run the script again. Loaders (`--import`, `--loader`),
 * conditions and the like are kept: the worker needs them to load sinks.
 */

/** Options dropped with the value that follows them (`-e code`, `--print code`) or after `=`. */
const ENTRY_OPTIONS_WITH_VALUE = new Set(['--input-type', '--eval', '-e', '--print', '-p']);

/** Whether `arg` is a cluster of short flags that includes `-e` or `-p` (`-pe`, `-ep`): the next argument is the script. */
function isShortEvalCluster(arg: string): boolean {
  return /^-[eip]{2,}$/.test(arg) && /[ep]/.test(arg);
}

/** `execArgv` without `--input-type`, `--eval`/`-e`, `--print`/`-p` and their values. */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
    if (ENTRY_OPTIONS_WITH_VALUE.has(name)) {
      // `--eval=code` carries its value; `--eval code` takes the next argument.
      if (name === arg) i++;
      continue;
    }
    if (isShortEvalCluster(arg)) {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
