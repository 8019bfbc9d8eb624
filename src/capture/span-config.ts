/**
 * Span limits and sampling, with the OpenTelemetry SDK's defaults and
 * environment variables:
 *
 * | setting | option | environment variable | default |
 * | --- | --- | --- | --- |
 * | attributes per span | `spanLimits.attributeCountLimit` | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, else `OTEL_ATTRIBUTE_COUNT_LIMIT` | 128 |
 * | attribute value length | `spanLimits.attributeValueLengthLimit` | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` | unlimited |
 * | events per span | `spanLimits.eventCountLimit` | `OTEL_SPAN_EVENT_COUNT_LIMIT` | 128 |
 * | links per span | `spanLimits.linkCountLimit` | `OTEL_SPAN_LINK_COUNT_LIMIT` | 128 |
 * | attributes per event | `spanLimits.attributePerEventCountLimit` | `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT` | 128 |
 * | attributes per link | `spanLimits.attributePerLinkCountLimit` | `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` | 128 |
 * | sampler | `sampler` | `OTEL_TRACES_SAMPLER` | `parentbased_always_on` |
 * | sampler ratio | `samplerArg` | `OTEL_TRACES_SAMPLER_ARG` | 1 |
 *
 * An option wins over its environment variable.
 */
import { DEFAULT_SPAN_COUNT_LIMIT } from '../defaults.js';
import { invalidOptionRange, invalidOptionType } from '../errors.js';

export interface SpanLimits {
  attributeCountLimit?: number;
  attributeValueLengthLimit?: number;
  eventCountLimit?: number;
  linkCountLimit?: number;
  attributePerEventCountLimit?: number;
  attributePerLinkCountLimit?: number;
}

export type ResolvedSpanLimits = Required<SpanLimits>;

/** The samplers of `OTEL_TRACES_SAMPLER`. */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export const SAMPLER_NAMES: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

export const DEFAULT_SAMPLER: SamplerName = 'parentbased_always_on';

type Env = Record<string, string | undefined>;

function envLimit(env: Env, names: string[], fallback: number): number {
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw invalidOptionRange(name, 'a non-negative integer', raw);
    return n;
  }
  return fallback;
}

/** `fallback` is called only without an option: a given option wins over a bad variable, which then is not read. */
function limit(option: string, value: unknown, fallback: () => number): number {
  if (value === undefined) return fallback();
  if (typeof value !== 'number') throw invalidOptionType(option, 'a number', value);
  if (!(value === Infinity || (Number.isInteger(value) && value >= 0))) throw invalidOptionRange(option, 'a non-negative integer or Infinity', value);
  return value;
}

export function resolveSpanLimits(options: SpanLimits | undefined, env: Env = process.env): ResolvedSpanLimits {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidOptionType('spanLimits', 'an object', options);
  const o = options ?? {};
  return {
    attributeCountLimit: limit('spanLimits.attributeCountLimit', o.attributeCountLimit, () =>
      envLimit(env, ['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT'], DEFAULT_SPAN_COUNT_LIMIT),
    ),
    attributeValueLengthLimit: limit('spanLimits.attributeValueLengthLimit', o.attributeValueLengthLimit, () =>
      envLimit(env, ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'], Infinity),
    ),
    eventCountLimit: limit('spanLimits.eventCountLimit', o.eventCountLimit, () => envLimit(env, ['OTEL_SPAN_EVENT_COUNT_LIMIT'], DEFAULT_SPAN_COUNT_LIMIT)),
    linkCountLimit: limit('spanLimits.linkCountLimit', o.linkCountLimit, () => envLimit(env, ['OTEL_SPAN_LINK_COUNT_LIMIT'], DEFAULT_SPAN_COUNT_LIMIT)),
    attributePerEventCountLimit: limit('spanLimits.attributePerEventCountLimit', o.attributePerEventCountLimit, () =>
      envLimit(env, ['OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT'], DEFAULT_SPAN_COUNT_LIMIT),
    ),
    attributePerLinkCountLimit: limit('spanLimits.attributePerLinkCountLimit', o.attributePerLinkCountLimit, () =>
      envLimit(env, ['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT'], DEFAULT_SPAN_COUNT_LIMIT),
    ),
  };
}

/** A sampler: whether a new span with this trace id and parent is recorded. */
export interface SamplerConfig {
  /** The sampler as configured; the two fields below are what a span's decision reads. */
  readonly name: SamplerName;
  /** Whether a valid parent's sampled flag decides (the `parentbased_*` samplers). */
  readonly parentBased: boolean;
  /** Without a parent to follow: sample when the trace id's XOR is below this (0: never, 2^32: always). */
  readonly below: number;
}

export function resolveSampler(name: unknown, arg: unknown, env: Env = process.env): SamplerConfig {
  let sampler: unknown = name;
  let samplerOption = 'sampler';
  if (sampler === undefined && env['OTEL_TRACES_SAMPLER'] !== undefined && env['OTEL_TRACES_SAMPLER'] !== '') {
    sampler = env['OTEL_TRACES_SAMPLER'];
    samplerOption = 'OTEL_TRACES_SAMPLER';
  }
  sampler ??= DEFAULT_SAMPLER;
  if (typeof sampler !== 'string' || !(SAMPLER_NAMES as readonly string[]).includes(sampler)) {
    throw invalidOptionRange(samplerOption, `one of ${SAMPLER_NAMES.join(', ')}`, sampler);
  }
  let ratio: unknown = arg;
  let ratioOption = 'samplerArg';
  if (ratio === undefined && env['OTEL_TRACES_SAMPLER_ARG'] !== undefined && env['OTEL_TRACES_SAMPLER_ARG'] !== '') {
    ratio = Number(env['OTEL_TRACES_SAMPLER_ARG']);
    ratioOption = 'OTEL_TRACES_SAMPLER_ARG';
  }
  ratio ??= 1;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw invalidOptionRange(ratioOption, 'a number from 0 to 1', ratioOption === 'OTEL_TRACES_SAMPLER_ARG' ? env['OTEL_TRACES_SAMPLER_ARG'] : ratio);
  }
  const n = sampler as SamplerName;
  // Decided once here, so a span's decision is a compare, not string matching.
  const below = n.endsWith('always_on') ? 0x100000000 : n.endsWith('always_off') ? 0 : traceIdRatioBound(ratio);
  return { name: n, parentBased: n.startsWith('parentbased_'), below };
}

/**
 * The sampling decision. Parent-based samplers follow a valid parent's
 * sampled flag; the ratio sampler uses the OpenTelemetry JS SDK's rule (XOR
 * of the trace id's four 32-bit words against ratio × 2^32 − 1), so both
 * agree on the same trace.
 */
export function shouldSample(config: SamplerConfig, t0: number, t1: number, t2: number, t3: number, parentSampled: boolean | undefined): boolean {
  if (parentSampled !== undefined && config.parentBased) return parentSampled;
  return ((t0 ^ t1 ^ t2 ^ t3) >>> 0) < config.below;
}

/** Strictly below, with 2^32 at ratio 1, exactly as the SDK: ratio 0 samples nothing, ratio 1 everything. */
function traceIdRatioBound(ratio: number): number {
  return ratio === 1 ? 0x100000000 : Math.floor(ratio * 0xffffffff);
}
