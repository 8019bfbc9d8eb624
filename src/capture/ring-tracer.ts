/**
 * RingTracer: `startSpan` / `startActiveSpan` per the OpenTelemetry API. The
 * tracer's name is the records' target, so sink filters work on
 * instrumentation scope names.
 *
 *   parent = options.root ? none : span in (context ?? active context)
 *   level hint says no sink wants this target at the span level
 *       ─► non-recording span carrying the parent's context (no-op API cost)
 *   sampler says no ─► non-recording span with new ids, sampled flag off
 *   else ─► RingSpan, held until it ends or is published (see RingSpan)
 */
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  context as contextApi,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { LevelHint } from '../filter/level-hint.js';
import { timeInputMs } from './clock.js';
import { text } from './attribute-values.js';
import { RingSpan, type SpanHost } from './ring-span.js';
import { shouldSample, type SamplerConfig } from './span-config.js';
import { activeContext, contextWithSpan } from './span-context.js';
import { spanIdHex, traceIdHex, wordsFromContext } from './span-ids.js';
import { fillRandomWords, randomWords as W } from './id-words.js';

/** What every tracer of one provider shares. */
export interface TracerShared extends SpanHost {
  readonly hint: LevelHint;
  readonly sampler: SamplerConfig;
  /** Next span handle (32 bits, wraps; kept signed, see `randomWords`). */
  nextHandle: number;
}

/**
 * The filtered-out span without a parent: the no-op API's span with the
 * invalid context. Its methods do nothing and it holds no state of its own,
 * so one serves every such span and none is allocated.
 */
const NO_PARENT_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export class RingTracer implements Tracer {
  readonly name: string;
  readonly version: string | undefined;
  readonly #shared: TracerShared;
  #generation = -1;
  #enabled = false;

  /** @internal made by RingTracerProvider.getTracer. */
  constructor(name: string, version: string | undefined, shared: TracerShared) {
    this.name = name;
    this.version = version;
    this.#shared = shared;
  }

  startSpan(name: string, options: SpanOptions = {}, context?: Context): Span {
    const ctx = context ?? activeContext();
    const parentSpan = options.root === true || ctx === ROOT_CONTEXT ? undefined : trace.getSpan(ctx);
    // Kept small so that V8 inlines it into the caller: a filtered-out span
    // then costs what the no-op API's does (its object never allocated when
    // the caller only calls its no-op methods). The recording path is a call.
    if (!this.#isEnabled()) {
      // Filtered out: behave as the no-op API, carrying the parent's context.
      return parentSpan === undefined ? NO_PARENT_SPAN : trace.wrapSpanContext(parentSpan.spanContext());
    }
    return this.#record(name, options, parentSpan);
  }

  /** A span of an enabled target: sampled, a RingSpan; else a non-recording span with new ids. */
  #record(name: string, options: SpanOptions, parentSpan: Span | undefined): Span {
    const shared = this.#shared;
    let hasParent = false;
    let parentRemote = false;
    let parentSampled: boolean | undefined;
    let traceState;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    let p0 = 0;
    let p1 = 0;
    if (parentSpan instanceof RingSpan) {
      // Our own parent: its words and flags as they are, no hex context made.
      hasParent = true;
      ({ t0, t1, t2, t3, s0: p0, s1: p1 } = parentSpan);
      parentSampled = (parentSpan.traceFlags & TraceFlags.SAMPLED) !== 0;
      traceState = parentSpan.traceState;
    } else if (parentSpan !== undefined) {
      const pc = parentSpan.spanContext();
      if (isSpanContextValid(pc)) {
        hasParent = true;
        ({ t0, t1, t2, t3, s0: p0, s1: p1 } = wordsFromContext(pc));
        parentRemote = pc.isRemote === true;
        parentSampled = (pc.traceFlags & TraceFlags.SAMPLED) !== 0;
        traceState = pc.traceState;
      }
    }
    if (hasParent) {
      fillRandomWords(4, 6);
    } else {
      fillRandomWords(0, 6);
      t0 = W[0]!;
      t1 = W[1]!;
      t2 = W[2]!;
      t3 = W[3]!;
      while ((t0 | t1 | t2 | t3) === 0) {
        fillRandomWords(3, 4);
        t3 = W[3]!;
      }
    }
    const s0 = W[4]!;
    let s1 = W[5]!;
    while ((s0 | s1) === 0) {
      fillRandomWords(5, 6);
      s1 = W[5]!;
    }
    const sampled = shouldSample(shared.sampler, t0, t1, t2, t3, parentSampled);
    const traceFlags = sampled ? TraceFlags.SAMPLED : TraceFlags.NONE;
    if (!sampled) {
      const ids = { t0, t1, t2, t3, s0, s1 };
      return trace.wrapSpanContext({
        traceId: traceIdHex(ids),
        spanId: spanIdHex(ids),
        traceFlags,
        ...(traceState === undefined ? {} : { traceState }),
        isRemote: false,
      });
    }
    // Signed, as the ids: written as u32, it is the same handle.
    const handle = (shared.nextHandle = (shared.nextHandle + 1) | 0);
    // An object literal made for the constructor alone: inlined, V8 keeps its fields in registers and never allocates it.
    const span = new RingSpan(shared, {
      handle,
      t0,
      t1,
      t2,
      t3,
      s0,
      s1,
      hasParent,
      parentS0: p0,
      parentS1: p1,
      parentRemote,
      name: text(name),
      startTime: timeInputMs(options.startTime),
      traceFlags,
      traceState,
      spanKind: options.kind ?? SpanKind.INTERNAL,
      target: this.name,
    });
    span.initAttributes(options.attributes);
    shared.open.hold(span);
    if (options.links !== undefined) span.addLinks(options.links);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, context: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    arg2?: F | SpanOptions,
    arg3?: F | Context,
    arg4?: F,
  ): ReturnType<F> | undefined {
    let options: SpanOptions | undefined;
    let ctx: Context | undefined;
    let fn: F;
    if (typeof arg2 === 'function') {
      fn = arg2;
    } else if (typeof arg3 === 'function') {
      options = arg2;
      fn = arg3;
    } else if (typeof arg4 === 'function') {
      options = arg2;
      ctx = arg3;
      fn = arg4;
    } else {
      return undefined;
    }
    const parent = ctx ?? activeContext();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(contextWithSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }

  /** Whether any sink accepts this tracer's target at the span level; cached per hint generation. */
  #isEnabled(): boolean {
    const hint = this.#shared.hint;
    if (this.#generation !== hint.generation) {
      this.#generation = hint.generation;
      this.#enabled = hint.enabled(this.name, this.#shared.spanLevel);
    }
    return this.#enabled;
  }
}
