/**
 * Process hooks that give every running dispatcher a bounded, synchronous
 * final drain when the process exits, without changing how it exits.
 *
 * - `exit` (after `process.exit()`, after an uncaught exception's default
 *   handling, and at a natural end): each registered drain runs; each blocks
 *   this thread until its worker has drained and flushed, or its deadline.
 * - `SIGTERM` / `SIGINT`: a listener is added, because Node's default action
 *   for them ends the process without an `exit` event. When the signal comes
 *   and the application has no listener of its own for it, the drains run,
 *   the hooks are removed and the signal is raised again, so the process
 *   still dies of that signal (same exit status as without ringtrace). When
 *   the application has its own listener, ringtrace does nothing there: the
 *   application decides, and if it calls `process.exit()` the `exit` hook drains.
 *
 * Hooks are installed while at least one drain is registered, and removed
 * with the last one.
 */

import { constants } from 'node:os';

/** Signals whose default action would skip the `exit` event. */
export const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** A dispatcher's final drain: blocks until done or its own deadline. Must not throw. */
export type ExitDrain = () => void;

const drains = new Set<ExitDrain>();
let installed = false;

function runDrains(): void {
  for (const drain of [...drains]) {
    try {
      drain();
    } catch {
      // A failed drain must not change how the process exits.
    }
  }
  drains.clear();
}

function onExit(): void {
  runDrains();
  uninstall();
}

/**
 * Listeners of `signal` that belong to the application. signal-exit (used by
 * test runners, CLIs and loggers) defers to any other listener exactly as we
 * do, so its listeners are not counted: were they, each would wait for the
 * other and a SIGTERM would end nothing. It publishes how many it owns.
 */
function applicationListeners(signal: NodeJS.Signals): number {
  const others = process.listeners(signal).filter((l) => l !== onSignal).length;
  // signal-exit 4 keeps its emitter on `global`, signal-exit 3 on `process`.
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')];
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  const deferring = (typeof v4?.count === 'number' ? v4.count : 0) + (typeof v3?.count === 'number' ? v3.count : 0);
  return Math.max(0, others - deferring);
}

function onSignal(signal: NodeJS.Signals): void {
  // The application listens too: its listener decides what happens.
  if (applicationListeners(signal) > 0) return;
  runDrains();
  uninstall();
  // With no listener left (or only signal-exit's, which now re-raises it
  // itself), the default action applies: the process dies of the signal.
  process.kill(process.pid, signal);
  // Should the signal not end it (a parent changed how it is handled), end the
  // process as a shell reports a death by signal: status 128 + signal number.
  setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), SIGNAL_FALLBACK_MS);
}

/** How long a re-raised signal gets to end the process before the fallback exit. */
const SIGNAL_FALLBACK_MS = 200;

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const signal of EXIT_SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  for (const signal of EXIT_SIGNALS) process.removeListener(signal, onSignal);
}

/** Run `drain` when the process exits (see the module comment); returns the function that unregisters it. */
export function registerExitDrain(drain: ExitDrain): () => void {
  drains.add(drain);
  install();
  return () => {
    drains.delete(drain);
    if (drains.size === 0) uninstall();
  };
}
