/**
 * RingTracerProvider: the OpenTelemetry `TracerProvider` a dispatcher
 * exposes as `dispatcher.tracerProvider` and installs globally with
 * `dispatcher.install()`. One tracer per (name, version), cached.
 */
import type { Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';
import type { LevelHint } from '../filter/level-hint.js';
import type { RecordEncoder } from '../record/record-encoder.js';
import { RingTracer, type TracerShared } from './ring-tracer.js';
import type { ResolvedSpanLimits, SamplerConfig } from './span-config.js';

export class RingTracerProvider implements TracerProvider {
  readonly #shared: TracerShared;
  readonly #tracers = new Map<string, RingTracer>();

  /** @internal made by TraceDispatcher. */
  constructor(encoder: RecordEncoder, hint: LevelHint, limits: ResolvedSpanLimits, sampler: SamplerConfig, spanLevel: number) {
    this.#shared = { encoder, hint, limits, sampler, spanLevel, nextHandle: 0 };
  }

  getTracer(name: string, version?: string, _options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ''}`;
    let tracer = this.#tracers.get(key);
    if (tracer === undefined) {
      tracer = new RingTracer(name === '' || typeof name !== 'string' ? 'unknown' : name, version, this.#shared);
      this.#tracers.set(key, tracer);
    }
    return tracer;
  }
}
