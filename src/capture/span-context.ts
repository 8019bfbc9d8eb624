/**
 * The context `startActiveSpan` runs its function in: the parent context
 * with the new span set, as `trace.setSpan(parent, span)` would make it,
 * without copying the parent. The API's context copies its whole Map (and
 * makes three closures) on every `setValue`, which cost a ringtrace
 * `startActiveSpan` a third of its time; here the span is one field and
 * every other key is looked up in the parent.
 *
 *   SpanLayer(span B) ─► SpanLayer(span A) ─► the API's context (other keys)
 *
 * Deriving from a layer (`setValue`, `deleteValue`: propagators,
 * instrumentations, `trace.setSpan`) makes the API's own context once and
 * derives from that, so everything outside ringtrace sees ordinary
 * contexts. A chain never grows past MAX_DEPTH layers: deeper, the API's
 * context is made instead, so a lookup walks a few layers at most.
 */
import { context as contextApi, trace, type Context, type ContextManager, type Span } from '@opentelemetry/api';

/**
 * The context manager `install()` registered, while it is the global one;
 * the API's `context.disable()` calls its `disable()`, which clears this.
 */
let installedManager: ContextManager | undefined;

/**
 * The active context, as `context.active()` returns it. Through the manager
 * `install()` registered when it is the global one: the API looks its global
 * up on every call (a keyed load on an object that turns slow once a global
 * has been deleted), which was a quarter of a filtered-out span's cost.
 */
export function activeContext(): Context {
  return installedManager !== undefined ? installedManager.active() : contextApi.active();
}

/** @internal `install()`: `manager` has become the global context manager (undefined: no longer). */
export function setInstalledContextManager(manager: ContextManager | undefined): void {
  installedManager = manager;
}

/** @internal whether `manager` is the one `activeContext` reads. */
export function isInstalledContextManager(manager: ContextManager): boolean {
  return installedManager === manager;
}

/**
 * The API's key for the active span, read through the public `getSpan`
 * (which asks the context for it), not its private module. Undefined if
 * some future API asked differently: then the API's context is always used.
 */
const SPAN_KEY: symbol | undefined = (() => {
  let key: unknown;
  const probe: Context = {
    getValue(k) {
      key = k;
      return undefined;
    },
    setValue: () => probe,
    deleteValue: () => probe,
  };
  trace.getSpan(probe);
  return typeof key === 'symbol' ? key : undefined;
})();

/** Layers a chain may have; past this the API's context is made. */
export const MAX_DEPTH = 8;

class SpanLayer implements Context {
  readonly #parent: Context;
  readonly #span: Span;
  /** Layers below this one. */
  readonly depth: number;
  /** The API's context equal to this one, made when something derives from it. */
  #api: Context | undefined;

  constructor(parent: Context, span: Span, depth: number) {
    this.#parent = parent;
    this.#span = span;
    this.depth = depth;
  }

  getValue(key: symbol): unknown {
    // SPAN_KEY is defined whenever a layer is made (see contextWithSpan).
    return key === SPAN_KEY ? this.#span : this.#parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.#asApiContext().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.#asApiContext().deleteValue(key);
  }

  #asApiContext(): Context {
    return (this.#api ??= trace.setSpan(this.#parent, this.#span));
  }
}

/** `parent` with `span` as its active span: what `trace.setSpan(parent, span)` returns, made cheaply. */
export function contextWithSpan(parent: Context, span: Span): Context {
  if (SPAN_KEY === undefined) return trace.setSpan(parent, span);
  const depth = parent instanceof SpanLayer ? parent.depth + 1 : 0;
  return depth >= MAX_DEPTH ? trace.setSpan(parent, span) : new SpanLayer(parent, span, depth);
}
