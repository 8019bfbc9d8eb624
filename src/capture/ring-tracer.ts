/**
 * RingTracer: `startSpan` / `startActiveSpan` per the OpenTelemetry API. The
 * tracer's name is the records' target, so sink filters work on
 * instrumentation scope names.
 *
 *   parent = options.root ? none : span in (context ?? active context)
 *   level hint says no sink wants this target at the span level
 *       ─► non-recording span carrying the parent's context (no-op API cost)
 *   sampler says no ─► non-recording span with new ids, sampled flag off
 *   else ─► RingSpan, SPAN_START record (+ a SPAN_LINK record per link)
 */
import {
  INVALID_SPAN_CONTEXT,
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
import type { IdWords, RecordEncoder } from '../record/record-encoder.js';
import { timeInputMs } from './clock.js';
import { RingSpan, text } from './ring-span.js';
import { shouldSample, type ResolvedSpanLimits, type SamplerConfig } from './span-config.js';
import { wordsFromContext, type HasIdWords } from './span-ids.js';
import { randomWord } from './id-words.js';

/** What every tracer of one provider shares. */
export interface TracerShared {
  readonly encoder: RecordEncoder;
  readonly hint: LevelHint;
  readonly limits: ResolvedSpanLimits;
  readonly sampler: SamplerConfig;
  /** Numeric level of every span. */
  readonly spanLevel: number;
  /** Next span handle (u32, wraps). */
  nextHandle: number;
}

const word = randomWord;

function newSpanWords(ids: IdWords): void {
  do {
    ids.s0 = word();
    ids.s1 = word();
  } while (ids.s0 === 0 && ids.s1 === 0);
}

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
    const shared = this.#shared;
    const ctx = context ?? contextApi.active();
    const parentSpan = options.root === true ? undefined : trace.getSpan(ctx);
    if (!this.#isEnabled()) {
      // Filtered out: behave as the no-op API, carrying the parent's context.
      return trace.wrapSpanContext(parentSpan?.spanContext() ?? INVALID_SPAN_CONTEXT);
    }
    let parentWords: IdWords | null = null;
    let parentRemote = false;
    let parentSampled: boolean | undefined;
    let traceState;
    if (parentSpan !== undefined) {
      const own = (parentSpan as Partial<HasIdWords>).idWords;
      const pc = parentSpan.spanContext();
      if (own !== undefined) {
        parentWords = own;
        parentSampled = (pc.traceFlags & TraceFlags.SAMPLED) !== 0;
        traceState = pc.traceState;
      } else if (isSpanContextValid(pc)) {
        parentWords = wordsFromContext(pc);
        parentRemote = pc.isRemote === true;
        parentSampled = (pc.traceFlags & TraceFlags.SAMPLED) !== 0;
        traceState = pc.traceState;
      }
    }
    const ids: IdWords =
      parentWords === null
        ? newTraceWords()
        : { t0: parentWords.t0, t1: parentWords.t1, t2: parentWords.t2, t3: parentWords.t3, s0: 0, s1: 0 };
    newSpanWords(ids);
    const sampled = shouldSample(shared.sampler, ids.t0, ids.t1, ids.t2, ids.t3, parentSampled);
    const traceFlags = sampled ? TraceFlags.SAMPLED : TraceFlags.NONE;
    if (!sampled) {
      const hex = new RingSpan(0, ids, name, traceFlags, traceState, shared.encoder, shared.limits).spanContext();
      return trace.wrapSpanContext(hex);
    }
    const handle = (shared.nextHandle = (shared.nextHandle + 1) >>> 0);
    const spanName = text(name);
    const span = new RingSpan(handle, ids, spanName, traceFlags, traceState, shared.encoder, shared.limits);
    const attributes = span.initAttributes(options.attributes);
    shared.encoder.spanStart(
      handle,
      timeInputMs(options.startTime),
      ids,
      parentWords,
      parentRemote,
      traceFlags,
      options.kind ?? SpanKind.INTERNAL,
      shared.spanLevel,
      spanName,
      this.name,
      traceState === undefined ? '' : traceState.serialize(),
      attributes,
      // Also the encoder's cap: the fast path hands over the caller's object as it is.
      shared.limits.attributeCountLimit,
    );
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
    const parent = ctx ?? contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
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

function newTraceWords(): IdWords {
  const ids = { t0: word(), t1: word(), t2: word(), t3: word(), s0: 0, s1: 0 };
  while ((ids.t0 | ids.t1 | ids.t2 | ids.t3) === 0) ids.t3 = word();
  return ids;
}
