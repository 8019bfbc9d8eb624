/**
 * BucketPicker: which explicit bucket a histogram value falls in, without a
 * loop over the bounds where possible. Bucket i holds (bounds[i−1], bounds[i]];
 * the last holds (last bound, +Inf), as OpenTelemetry and Prometheus (`le`) count.
 *
 * When the bounds, scaled by a power of ten up to 10^6, are integers spanning
 * at most `MAX_TABLE_SPAN`, a lookup table indexed by `ceil(v × scale)` gives
 * the bucket, and one comparison on each side corrects the rounding of the
 * scaling, so the answer is exact. Otherwise a binary search.
 * Measured on the dev VM (Node 20, the SDK's default bounds, random values):
 * table 6.5 ns, linear scan 15-19 ns, binary search 19-20 ns per pick.
 */

/** Largest table (entries) a picker builds: 64 Ki entries, 64 KiB to 128 KiB. */
export const MAX_TABLE_SPAN = 65_536;

export class BucketPicker {
  readonly bounds: Float64Array;
  readonly #table: Uint8Array | Uint16Array | null;
  readonly #scale: number;
  readonly #first: number;
  readonly #span: number;

  constructor(bounds: readonly number[]) {
    this.bounds = new Float64Array(bounds);
    let table: Uint8Array | Uint16Array | null = null;
    let scale = 1;
    let first = 0;
    let span = 0;
    if (bounds.length > 0) {
      for (let s = 1; s <= 1e6; s *= 10) {
        const scaled = bounds.map((b) => Math.round(b * s));
        if (!scaled.every((x, i) => Math.abs(x - bounds[i]! * s) < 1e-9 * Math.max(1, Math.abs(x)))) continue;
        const f = scaled[0]!;
        const width = scaled[scaled.length - 1]! - f;
        if (width > MAX_TABLE_SPAN) break;
        table = bounds.length < 255 ? new Uint8Array(width + 1) : new Uint16Array(width + 1);
        for (let x = 0; x <= width; x++) table[x] = this.#search((x + f) / s);
        scale = s;
        first = f;
        span = width;
        break;
      }
    }
    this.#table = table;
    this.#scale = scale;
    this.#first = first;
    this.#span = span;
  }

  /** The bucket index of `v` (a finite number), 0 to bounds.length. */
  pick(v: number): number {
    const table = this.#table;
    if (table === null) return this.#search(v);
    const x = Math.ceil(v * this.#scale) - this.#first;
    if (x <= 0) return v <= this.bounds[0]! ? 0 : this.#search(v);
    if (x > this.#span) return v > this.bounds[this.bounds.length - 1]! ? this.bounds.length : this.#search(v);
    let i = table[x]!;
    // The scaling can round across a bound by one unit: one comparison each way makes it exact.
    if (i < this.bounds.length && v > this.bounds[i]!) i++;
    else if (i > 0 && v <= this.bounds[i - 1]!) i--;
    return i;
  }

  #search(v: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v > b[mid]!) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
