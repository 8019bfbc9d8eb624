/**
 * RingTracerProvider: the OpenTelemetry `TracerProvider` a dispatcher
 * exposes as `dispatcher.tracerProvider` and installs globally with
 * `dispatcher.install()`. One tracer per (name, version), cached.
 */
import type { Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';
import type { LevelHint } from '../filter/level-hint.js';
import type { RecordEncoder } from '../encoder/record-encoder.js';
import { OpenSpans } from './open-spans.js';
import { RingTracer, type TracerShared } from './ring-tracer.js';
import type { ResolvedSpanLimits, SamplerConfig } from './span-config.js';

/** @internal What a provider is made with. */
export interface RingTracerProviderOptions {
  encoder: RecordEncoder;
  hint: LevelHint;
  limits: ResolvedSpanLimits;
  sampler: SamplerConfig;
  /** Numeric level of every span. */
  spanLevel: number;
  /** Spans held longer than this are published (see RingSpan). */
  publishAfterMs: number;
}

/** Tracers cached per (name, version); past this they are made per call. */
export const MAX_CACHED_TRACERS = 1024;

export class RingTracerProvider implements TracerProvider {
  readonly #shared: TracerShared;
  readonly #tracers = new Map<string, RingTracer>();

  /** @internal made by TraceDispatcher. */
  constructor(options: RingTracerProviderOptions) {
    const { encoder, hint, limits, sampler, spanLevel, publishAfterMs } = options;
    this.#shared = { encoder, hint, limits, sampler, spanLevel, nextHandle: 0, open: new OpenSpans(publishAfterMs) };
  }

  /** @internal write the opening record of every span still held, so a flush, shutdown or exit sees it. */
  publishOpenSpans(): void {
    this.#shared.open.publishAll();
  }

  /** @internal at shutdown: publish held spans and stop the publishing timer. */
  close(): void {
    this.#shared.open.close();
  }

  getTracer(name: string, version?: string, _options?: TracerOptions): Tracer {
    // Checked before use: a symbol or an object with a throwing toString must not throw here.
    const target = typeof name === 'string' && name !== '' ? name : 'unknown';
    const v = typeof version === 'string' ? version : undefined;
    const key = `${target}@${v ?? ''}`;
    let tracer = this.#tracers.get(key);
    if (tracer === undefined) {
      tracer = new RingTracer(target, v, this.#shared);
      // Bounded: tracer names made from ids must not grow this without limit.
      if (this.#tracers.size < MAX_CACHED_TRACERS) this.#tracers.set(key, tracer);
    }
    return tracer;
  }
}
