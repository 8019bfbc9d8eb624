/**
 * InstrumentState: what one instrument's recording needs besides its hot
 * fields — its name and kind for warnings, the region's counts, and which
 * bad inputs it has already warned about (each once per instrument).
 */
import type { MetricKind } from '../metric-region/layout.js';
import type { MetricRegionWriter } from '../metric-region/region-writer.js';
import { warnMetrics } from './metrics-config.js';

/** Bad inputs an instrument warns about, once each. */
export const BadInput = { Negative: 1, NotFinite: 2, NotNumber: 4, Callback: 8 } as const;
export type BadInput = (typeof BadInput)[keyof typeof BadInput];

export class InstrumentState {
  #warned = 0;

  constructor(
    readonly name: string,
    readonly kind: MetricKind,
    readonly writer: MetricRegionWriter,
  ) {}

  /** Count an ignored measurement and say why, the first time per instrument and reason. */
  ignore(reason: BadInput, value: unknown): void {
    this.writer.countInvalid();
    if ((this.#warned & reason) !== 0) return;
    this.#warned |= reason;
    const what =
      reason === BadInput.Negative
        ? `a negative value (${String(value)}) is not allowed for ${this.kind} ${JSON.stringify(this.name)}`
        : reason === BadInput.NotFinite
          ? `a non-finite value (${String(value)}) is not allowed for ${this.kind} ${JSON.stringify(this.name)}`
          : reason === BadInput.NotNumber
            ? `${this.kind} ${JSON.stringify(this.name)} takes a number, got ${typeof value}`
            : `a callback of ${this.kind} ${JSON.stringify(this.name)} failed: ${value instanceof Error ? value.message : String(value)}`;
    warnMetrics(`${what}; ignored (further ones are counted, not reported)`);
  }

  /** Why `value` is not a finite number, or 0 when it is one. */
  static check(value: unknown): BadInput | 0 {
    if (typeof value !== 'number') return BadInput.NotNumber;
    return Number.isFinite(value) ? 0 : BadInput.NotFinite;
  }
}
