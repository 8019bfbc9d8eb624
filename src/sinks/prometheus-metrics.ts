/**
 * The application's OpenTelemetry metrics as Prometheus metric families, for
 * the `prometheus` sink: names, units, suffixes and labels as the
 * OpenTelemetry specification's Prometheus compatibility rules say.
 *
 * - Name: characters outside `[a-zA-Z0-9_:]` become `_`, runs of `_` become
 *   one, a leading digit gets a `_` before it; then the unit, spelled out
 *   (`s` → `seconds`, `By` → `bytes`, `m/s` → `meters_per_second`, `{…}`
 *   annotations dropped, `1` on a gauge → `ratio`) unless the name already
 *   ends with it; then `_total` on a monotonic sum (counter, observable counter).
 * - Type: counters are `counter`; up-down counters and gauges `gauge`;
 *   histograms `histogram` with cumulative `_bucket{le}`, `_sum`, `_count`.
 * - Labels: each attribute (key sanitised like a name; keys that collide are
 *   joined, their values with `;` in key order), plus `otel_scope_name` and
 *   `otel_scope_version`. The resource is the `target_info` family.
 * - Two instruments that map to one name: the first (in region order) is
 *   served, the other is skipped and counted in `skipped`.
 *
 * The families are prom-client metric objects (`get()` returning the values
 * read at this scrape), registered in the sink's own registry.
 */
import type { Registry } from 'prom-client';
import type { MetricAttributeValue, MetricScope, MetricSnapshotEntry, MetricsSnapshot } from '../metric-region/metrics-snapshot.js';

/** UCUM units as the specification spells them in Prometheus names. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

/** The denominators of `x/y` units. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/** `[a-zA-Z0-9_:]` only, runs of `_` as one, no leading digit. */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** A label name: `[a-zA-Z0-9_]` only, runs of `_` as one, a leading digit prefixed with `key_`. */
export function sanitizeLabelName(key: string): string {
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_');
  return /^[0-9]/.test(s) ? `key_${s}` : s;
}

/** The unit as a name suffix (without the `_`), or '' for none. */
export function unitSuffix(unit: string, kind: MetricSnapshotEntry['kind']): string {
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '') return '';
  if (bare === '1') return kind === 'gauge' || kind === 'observableGauge' ? 'ratio' : '';
  const slash = bare.indexOf('/');
  if (slash >= 0) {
    const num = bare.slice(0, slash);
    const den = bare.slice(slash + 1);
    const a = UNIT_WORDS[num] ?? num;
    const b = PER_UNIT_WORDS[den] ?? UNIT_WORDS[den] ?? den;
    return sanitizeMetricName(a === '' || a === '1' ? `per_${b}` : `${a}_per_${b}`).replace(/^_+|_+$/g, '');
  }
  return sanitizeMetricName(UNIT_WORDS[bare] ?? bare).replace(/^_+|_+$/g, '');
}

function isMonotonic(kind: MetricSnapshotEntry['kind']): boolean {
  return kind === 'counter' || kind === 'observableCounter';
}

/** The Prometheus family name of an instrument. */
export function prometheusName(metric: Pick<MetricSnapshotEntry, 'name' | 'unit' | 'kind'>): string {
  let name = sanitizeMetricName(metric.name);
  const unit = unitSuffix(metric.unit, metric.kind);
  if (unit !== '' && !name.endsWith(`_${unit}`) && !(isMonotonic(metric.kind) && name.endsWith(`_${unit}_total`))) name += `_${unit}`;
  if (isMonotonic(metric.kind) && !name.endsWith('_total')) name += '_total';
  return name;
}

function labelValue(v: MetricAttributeValue): string {
  return Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** Attributes (and scope) as Prometheus labels. */
export function prometheusLabels(attributes: Readonly<Record<string, MetricAttributeValue>>, scope?: MetricScope): Record<string, string> {
  const grouped = new Map<string, [string, string][]>();
  for (const [key, value] of Object.entries(attributes)) {
    const name = sanitizeLabelName(key);
    let list = grouped.get(name);
    if (list === undefined) grouped.set(name, (list = []));
    list.push([key, labelValue(value)]);
  }
  const labels: Record<string, string> = {};
  for (const [name, list] of grouped) {
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    labels[name] = list.map((e) => e[1]).join(';');
  }
  if (scope !== undefined) {
    labels.otel_scope_name = scope.name;
    if (scope.version !== undefined) labels.otel_scope_version = scope.version;
  }
  return labels;
}

interface PromValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/** One family, in the shape prom-client's Registry formats (`name`, `help`, `type`, `get()`). */
class Family {
  values: PromValue[] = [];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    /** Which instrument (scope and name) feeds it: a second one mapping to the same name is skipped. */
    readonly source: string,
  ) {}

  get(): { name: string; help: string; type: string; values: PromValue[]; aggregator: 'sum' } {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: 'sum' };
  }

  reset(): void {
    this.values = [];
  }
}

function points(metric: MetricSnapshotEntry, name: string): PromValue[] {
  const out: PromValue[] = [];
  if (metric.kind === 'histogram') {
    for (const p of metric.points) {
      const labels = prometheusLabels(p.attributes, metric.scope);
      let cumulative = 0;
      for (let i = 0; i < p.buckets.length; i++) {
        cumulative += p.buckets[i]!;
        const le = i < metric.boundaries.length ? String(metric.boundaries[i]) : '+Inf';
        out.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
      }
      out.push({ labels, value: p.sum, metricName: `${name}_sum` });
      out.push({ labels, value: p.count, metricName: `${name}_count` });
    }
    return out;
  }
  for (const p of metric.points) out.push({ labels: prometheusLabels(p.attributes, metric.scope), value: p.value });
  return out;
}

export class PrometheusApplicationMetrics {
  readonly #registry: Registry;
  readonly #read: () => MetricsSnapshot;
  readonly #families = new Map<string, Family>();
  readonly #target: Family | undefined;
  /** Instruments not served because another one took their Prometheus name (or the sink's own metric has it). */
  skipped = 0;
  readonly #skippedSources = new Set<string>();

  constructor(registry: Registry, read: () => MetricsSnapshot, resource: Readonly<Record<string, string | number | boolean>> | undefined) {
    this.#registry = registry;
    this.#read = read;
    if (resource !== undefined) {
      this.#target = new Family('target_info', 'Target metadata', 'gauge', '');
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(resource)) labels[sanitizeLabelName(k)] = String(v);
      this.#target.values = [{ labels, value: 1 }];
    }
  }

  /** Read the metrics regions and refresh every family; call before formatting a scrape. Returns the snapshot. */
  update(): MetricsSnapshot {
    const snapshot = this.#read();
    for (const f of this.#families.values()) f.values = [];
    for (const metric of snapshot.metrics) {
      const name = prometheusName(metric);
      const source = JSON.stringify([metric.scope.name, metric.scope.version ?? '', metric.name, metric.kind]);
      let family = this.#families.get(name);
      if (family === undefined) {
        if (this.#skippedSources.has(source)) continue;
        const type = metric.kind === 'histogram' ? 'histogram' : isMonotonic(metric.kind) ? 'counter' : 'gauge';
        family = new Family(name, metric.description === '' ? `${metric.name}` : metric.description, type, source);
        try {
          this.#registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
        } catch {
          // The sink's own metric has this name.
          this.#skip(source);
          continue;
        }
        this.#families.set(name, family);
        if (this.#target !== undefined && this.#families.size === 1) {
          try {
            this.#registry.registerMetric(this.#target as unknown as Parameters<Registry['registerMetric']>[0]);
          } catch {
            // Someone else serves target_info.
          }
        }
      }
      if (family.source !== source) {
        // Same name, other scope of the same kind: one family with otel_scope_* labels telling them apart.
        const sameType = (metric.kind === 'histogram' ? 'histogram' : isMonotonic(metric.kind) ? 'counter' : 'gauge') === family.type;
        if (!sameType) {
          this.#skip(source);
          continue;
        }
      }
      family.values.push(...points(metric, name));
    }
    return snapshot;
  }

  #skip(source: string): void {
    if (this.#skippedSources.has(source)) return;
    this.#skippedSources.add(source);
    this.skipped++;
  }
}
