/**
 * tracedPool / tracedTask: the active OpenTelemetry context carried into a
 * piscina task with the real @opentelemetry/api, its AsyncLocalStorage
 * context manager and the W3C propagators: through a stand-in pool that
 * structured-clones the task as a thread boundary does, and through a real
 * piscina pool (test/fixtures/piscina-context-worker.ts).
 */
import t from 'tap';
import { context, propagation, trace, ROOT_CONTEXT, TraceFlags, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { Piscina } from 'piscina';
import { tracedPool, tracedTask, type PoolRunOptions } from '../src/index.js';
import { TASK_ENVELOPE_KEY } from '../src/capture/piscina-context.js';
import type { Seen } from './fixtures/piscina-context-worker.js';

const manager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(manager);
propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
t.teardown(() => {
  context.disable();
  propagation.disable();
});

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

/** A context with a remote parent span and a baggage entry, as a span around `pool.run` gives. */
function parentContext(): Context {
  const withSpan = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  return propagation.setBaggage(withSpan, propagation.createBaggage({ tenant: { value: 'acme' } }));
}

function seen(task: unknown): Seen {
  const sc = trace.getSpanContext(context.active());
  return { task, traceId: sc?.traceId, spanId: sc?.spanId, baggage: propagation.getActiveBaggage()?.getEntry('tenant')?.value };
}

/** A pool whose worker is `fn` behind a structured clone, recording what was posted. */
function clonePool(fn: (task: unknown) => unknown) {
  const posted: { task: unknown; options: PoolRunOptions | undefined }[] = [];
  return {
    posted,
    run(task: unknown, options?: PoolRunOptions): Promise<unknown> {
      posted.push({ task, options });
      // The worker runs outside the caller's context, as another thread does.
      return context.with(ROOT_CONTEXT, () => Promise.resolve(fn(structuredClone(task))));
    },
  };
}

t.test('any task value arrives as given, run inside the carried context', async (t) => {
  const stand = clonePool(tracedTask(seen));
  const pool = tracedPool(stand);
  const tasks: unknown[] = [{ a: 1, nested: { b: [1, 2] } }, 42, 'text', null, undefined, [1, 'two'], true, new Uint8Array([1, 2, 3])];
  for (const task of tasks) {
    const got = (await context.with(parentContext(), () => pool.run(task))) as Seen;
    t.same(got.task, task, `${String(task)} arrives unchanged`);
    t.equal(got.traceId, TRACE_ID, `${String(task)}: the parent's trace`);
    t.equal(got.spanId, SPAN_ID, `${String(task)}: the parent span`);
    t.equal(got.baggage, 'acme', `${String(task)}: the baggage`);
  }
  const sent = stand.posted[0]!.task as Record<string, Record<string, string>>;
  t.match(sent[TASK_ENVELOPE_KEY]!['traceparent'], new RegExp(`^00-${TRACE_ID}-${SPAN_ID}-01$`), 'the carrier holds the W3C fields');
});

t.test('no active context: the task is posted as given and run as it came', async (t) => {
  const stand = clonePool(tracedTask(seen));
  const pool = tracedPool(stand);
  const task = { plain: true };
  const options = { name: 'named' } as PoolRunOptions;
  const got = (await pool.run(task, options)) as Seen;
  t.equal(stand.posted[0]!.task, task, 'the very object, no envelope');
  t.equal(stand.posted[0]!.options, options, 'the very options');
  t.same(got, { task, traceId: undefined, spanId: undefined, baggage: undefined });
});

t.test('tracedTask passes through a task that carries no context, in the current context', async (t) => {
  const fn = tracedTask(seen);
  const plain = { [TASK_ENVELOPE_KEY]: 'not a carrier', x: 1 };
  for (const task of [plain, { task: 1 }, 7, null]) {
    const got = context.with(parentContext(), () => fn(task));
    t.equal(got.task, task, 'the same value');
    t.equal(got.spanId, SPAN_ID, 'the current context, untouched');
  }
  t.same(fn(undefined), { task: undefined, traceId: undefined, spanId: undefined, baggage: undefined });
  const named = tracedTask(function resize(n: number) {
    return n * 2;
  });
  t.equal(named.name, 'resize', 'keeps the function name');
  t.equal(named(21), 42, 'returns what fn returns');
  t.throws(() => context.with(parentContext(), () => tracedTask(() => { throw new Error('in task'); })({})), /in task/, 'a throw is the task\'s own');
});

t.test('a Piscina.move() task: unwrapped into the envelope, its buffer added to transferList', async (t) => {
  const stand = clonePool(tracedTask((task: unknown) => seen(task instanceof ArrayBuffer ? task.byteLength : task)));
  const pool = tracedPool(stand);
  const buffer = new ArrayBuffer(16);
  const port = new MessageChannel().port1;
  t.teardown(() => port.close());
  const got = (await context.with(parentContext(), () => pool.run(Piscina.move(buffer), { transferList: [port], name: 'n' }))) as Seen;
  t.equal(got.task, 16, 'the moved value reached the task');
  t.equal(got.spanId, SPAN_ID);
  const posted = stand.posted[0]!;
  t.equal((posted.task as { task: unknown }).task, buffer, 'the envelope holds the buffer itself');
  t.same(posted.options, { name: 'n', transferList: [port, buffer] }, 'the given transferList, then the moved buffer; other options kept');
  // Not moved (no context to carry): left for piscina to unwrap.
  const moved = Piscina.move(new ArrayBuffer(4));
  await pool.run(moved);
  t.equal(stand.posted[1]!.task, moved);
  // An object with piscina's public symbols but no move() mark is a plain task, as piscina treats it.
  const lookalike = { [Piscina.transferableSymbol]: buffer, [Piscina.valueSymbol]: 'v', data: 1 };
  await context.with(parentContext(), () => pool.run(lookalike));
  t.equal((stand.posted[2]!.task as { task: unknown }).task, lookalike);
  t.equal(stand.posted[2]!.options, undefined);
});

t.test('the wrapper is the pool for everything but run', async (t) => {
  class Pool {
    #threads = 3;
    calls: unknown[] = [];
    get threads(): number {
      return this.#threads;
    }
    run(task: unknown): Promise<unknown> {
      this.calls.push(task);
      return Promise.resolve(this.#threads);
    }
    close(): number {
      return this.#threads;
    }
  }
  const raw = new Pool();
  const pool = tracedPool(raw);
  t.ok(pool instanceof Pool);
  t.equal(pool.threads, 3, 'a getter over a private field');
  t.equal(pool.close(), 3, 'a method using a private field');
  t.equal(await pool.run('x'), 3, 'run reaches the pool');
  t.same(raw.calls, ['x']);
});

t.test('bad input: a typed error naming the value', async (t) => {
  for (const bad of [undefined, null, 42, {}, { run: 'no' }]) {
    t.throws(() => tracedPool(bad as never), { name: 'TypeError', code: 'RINGTRACE_INVALID_OPTION', message: /option pool must be a piscina pool/ });
  }
  t.throws(() => tracedTask('fn' as never), { name: 'TypeError', code: 'RINGTRACE_INVALID_OPTION', message: /option fn must be a task function, got "fn"/ });
});

t.test('a real piscina pool: default and named task functions, signal, transfer', async (t) => {
  const pool = tracedPool(new Piscina({ filename: new URL('./fixtures/piscina-context-worker.ts', import.meta.url).href, minThreads: 1, maxThreads: 2 }));
  t.teardown(() => pool.destroy());
  await context.with(parentContext(), async () => {
    const got = (await pool.run({ n: 1 })) as Seen;
    t.same(got, { task: { n: 1 }, traceId: TRACE_ID, spanId: SPAN_ID, baggage: 'acme' }, 'the default export ran in the carried context');
    const moved = (await pool.run(Piscina.move(new ArrayBuffer(8)), { name: 'bytes' })) as Seen;
    t.same(moved, { task: { byteLength: 8 }, traceId: TRACE_ID, spanId: SPAN_ID, baggage: 'acme' }, 'a named task with a moved buffer');
    const aborted = new AbortController();
    aborted.abort();
    await t.rejects(pool.run({ n: 2 }, { signal: aborted.signal }), { name: 'AbortError' }, 'the signal reaches piscina');
  });
  const outside = (await pool.run('no span')) as Seen;
  t.same(outside, { task: 'no span', traceId: undefined, spanId: undefined, baggage: undefined }, 'outside any span: as a plain pool');
  t.ok(pool.threads.length >= 1, 'piscina getters work through the wrapper');
});
