/**
 * The active OpenTelemetry context across a piscina pool's thread boundary,
 * with the standard propagation API only: `tracedPool(pool).run(task)`
 * injects the active context (the global propagator's fields: W3C
 * `traceparent`, `tracestate`, `baggage` by default) into what is posted,
 * and `tracedTask(fn)` in the worker extracts it and runs `fn(task)` inside
 * it, so spans the task starts are children of the span around `run`.
 *
 * The task travels in an envelope only when there is a context to carry:
 * with nothing to inject, the task is posted as given. The envelope has a
 * string key (symbols do not survive the structured clone), so any task
 * value fits in it; a `Piscina.move()` task is unwrapped into the envelope
 * and its transferables added to `transferList`, as piscina does itself,
 * which it only does for the task's top level.
 *
 * piscina is never imported here: a pool is anything with piscina's
 * `run(task, options)`.
 */
import { context, propagation, type Context } from '@opentelemetry/api';
import { invalidOptionType } from '../errors.js';

/** The envelope's marker key. */
export const TASK_ENVELOPE_KEY = 'ringtrace.traceContext';

/** What `tracedPool` posts when there is a context to carry. */
interface TaskEnvelope {
  [TASK_ENVELOPE_KEY]: Record<string, string>;
  task: unknown;
}

/** piscina's `run()` options; the wrapper reads `transferList` and passes them all on. */
export interface PoolRunOptions {
  /** Objects to transfer with the task (a `Piscina.move()` task's are added). */
  transferList?: readonly unknown[];
  /** The task function: a named export of the worker file. */
  name?: string | null;
  /** The worker file, instead of the pool's. */
  filename?: string | null;
  /** Aborts the task (an `AbortSignal` or piscina's `AbortSignalAny`). */
  signal?: unknown;
}

/** What `tracedPool` needs of a pool: piscina's `run(task, options)`. */
export interface RunnablePool {
  run(task: unknown, options?: PoolRunOptions): Promise<unknown>;
}

// piscina's public symbols (`Piscina.transferableSymbol`, `Piscina.valueSymbol`), registered with Symbol.for.
const TRANSFERABLE = Symbol.for('Piscina.transferable');
const VALUE = Symbol.for('Piscina.valueOf');
// The mark `Piscina.move()` sets; piscina unwraps only marked tasks, so only those are unwrapped here.
const MOVABLE_DESCRIPTION = 'Piscina.kMovable';

interface Movable {
  [TRANSFERABLE]: unknown;
  [VALUE]: unknown;
}

/** Whether `task` came from `Piscina.move()` (piscina's own test, on its registered symbols and its mark). */
function isMovable(task: unknown): task is Movable {
  if (task === null || typeof task !== 'object' || !(TRANSFERABLE in task) || !(VALUE in task)) return false;
  return Object.getOwnPropertySymbols(task).some((s) => s.description === MOVABLE_DESCRIPTION && (task as Record<symbol, unknown>)[s] === true);
}

function isEnvelope(task: unknown): task is TaskEnvelope {
  if (task === null || typeof task !== 'object' || !Object.prototype.hasOwnProperty.call(task, TASK_ENVELOPE_KEY)) return false;
  const carrier = (task as Record<string, unknown>)[TASK_ENVELOPE_KEY];
  return carrier !== null && typeof carrier === 'object' && Object.prototype.hasOwnProperty.call(task, 'task');
}

/**
 * The task `run()` posts: `task` as given when the active context has
 * nothing to inject, else an envelope with the carrier; and the options
 * with a moved task's transferables.
 */
export function envelopeTask<O extends PoolRunOptions>(task: unknown, options: O | undefined, ctx: Context = context.active()): { task: unknown; options: O | undefined } {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (Object.keys(carrier).length === 0) return { task, options };
  if (!isMovable(task)) return { task: { [TASK_ENVELOPE_KEY]: carrier, task } satisfies TaskEnvelope, options };
  const moved: unknown[] = ([] as unknown[]).concat(task[TRANSFERABLE]);
  const transferList = [...(options?.transferList ?? []), ...moved];
  return { task: { [TASK_ENVELOPE_KEY]: carrier, task: task[VALUE] } satisfies TaskEnvelope, options: { ...(options as O), transferList } };
}

/**
 * A view of `pool` whose `run(task, options)` carries the active
 * OpenTelemetry context into the task; everything else (`close()`,
 * `destroy()`, `threads`, events, `instanceof Piscina`) is the pool's own.
 * The worker's task functions must be wrapped with {@link tracedTask},
 * which unwraps the task. Options (`name`, `filename`, `signal`,
 * `transferList`) are passed on; a task made with `Piscina.move()` keeps
 * its transfer.
 *
 * ```js
 * const pool = tracedPool(new Piscina({ filename: new URL('./worker.js', import.meta.url).href }));
 * await tracer.startActiveSpan('batch', async (span) => {
 *   await pool.run({ n: 1 }, { name: 'resize' }); // spans in `resize` are children of `batch`
 *   span.end();
 * });
 * ```
 *
 * @throws TypeError (code `RINGTRACE_INVALID_OPTION`) when `pool` has no `run` method.
 */
export function tracedPool<P extends RunnablePool>(pool: P): P {
  if (pool === null || typeof pool !== 'object' || typeof (pool as { run?: unknown }).run !== 'function') {
    throw invalidOptionType('pool', 'a piscina pool (an object with a run(task, options) method)', pool);
  }
  const run = (task: unknown, options?: PoolRunOptions): Promise<unknown> => {
    const sent = envelopeTask(task, options);
    return pool.run(sent.task, sent.options);
  };
  return new Proxy(pool, {
    get(target, key) {
      if (key === 'run') return run;
      // The pool's own receiver: piscina keeps its state in private fields a proxy cannot reach.
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * A piscina task function (a worker's default or named export) that runs
 * `fn(task)` inside the context {@link tracedPool} carried, so spans it
 * starts are children of the span that was active around `pool.run()`.
 * A task posted without a context (by a plain pool, or with no active span)
 * is passed to `fn` as it came, in the worker's current context.
 *
 * ```js
 * export const resize = tracedTask(async (task) => tracer.startActiveSpan('resize', (span) => { … }));
 * ```
 *
 * @throws TypeError (code `RINGTRACE_INVALID_OPTION`) when `fn` is not a function.
 */
export function tracedTask<T, R>(fn: (task: T) => R): (task: T) => R {
  if (typeof fn !== 'function') throw invalidOptionType('fn', 'a task function', fn);
  const traced = (posted: T): R => {
    if (!isEnvelope(posted)) return fn(posted);
    const ctx = propagation.extract(context.active(), posted[TASK_ENVELOPE_KEY]);
    return context.with(ctx, fn, undefined, posted.task as T);
  };
  // piscina finds a named task by its export, not the function's name; the name still helps stack traces.
  Object.defineProperty(traced, 'name', { value: fn.name });
  return traced;
}
