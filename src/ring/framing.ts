/**
 * Record framing: what the ring itself knows of the records it carries, and
 * the one guarded walker that every reader of ring records uses (the drain
 * loop, the health reader, the tests).
 *
 *   offset 0  u32 size   whole record in bytes, a multiple of RECORD_ALIGN, ≥ RECORD_ALIGN
 *   offset 4  u8  kind   PAD (0) or a record kind the record format defines
 *
 * A record never wraps: a reservation that does not fit before the end of
 * the data region leaves a PAD there whose size reaches exactly to the end.
 * The ring knows nothing else of a record's contents.
 */

/** Byte offset of a record's u32 size (little-endian). */
export const RECORD_SIZE_OFFSET = 0;
/** Byte offset of a record's u8 kind. */
export const RECORD_KIND_OFFSET = 4;
/** Records start and end on 8-byte boundaries. */
export const RECORD_ALIGN = 8;
/** The kind of the filler from a reservation's skipped tail to the end of the data region. */
export const KIND_PAD = 0;

/**
 * How many consecutive sound frames a resynchronisation candidate must
 * start (or reach the end of the published bytes in fewer), so that a
 * run of body bytes that happens to look like a size is not taken for a record.
 */
const RESYNC_CHAIN = 4;

/**
 * Reads the framing of the records between two positions of a ring's data
 * region and never trusts it: a size that is not a whole number of aligned
 * bytes, runs past what the producer published or past the region's end, or
 * a PAD that does not reach the end, is *unsound*, and `resync` finds the
 * next position where sound framing starts again.
 */
export class RecordWalker {
  readonly #view: DataView;
  readonly #capacity: number;
  readonly #mask: number;

  constructor(region: Uint8Array) {
    this.#view = new DataView(region.buffer, region.byteOffset, region.byteLength);
    this.#capacity = region.byteLength;
    this.#mask = this.#capacity - 1;
  }

  /**
   * The size of the record at full position `pos`, when its frame is sound
   * and it ends at or before `end`; else 0. A sound PAD reaches exactly to
   * the end of the data region.
   */
  sizeAt(pos: number, end: number): number {
    const offset = pos & this.#mask;
    if (offset + RECORD_ALIGN > this.#capacity) return 0;
    const size = this.#view.getUint32(offset + RECORD_SIZE_OFFSET, true);
    if (size < RECORD_ALIGN || (size & (RECORD_ALIGN - 1)) !== 0 || size > end - pos || offset + size > this.#capacity) return 0;
    if (this.#view.getUint8(offset + RECORD_KIND_OFFSET) === KIND_PAD && offset + size !== this.#capacity) return 0;
    return size;
  }

  /** Whether the (sound) record at `pos` is padding. */
  isPad(pos: number): boolean {
    return this.#view.getUint8((pos & this.#mask) + RECORD_KIND_OFFSET) === KIND_PAD;
  }

  /** The record's kind byte. */
  kindAt(pos: number): number {
    return this.#view.getUint8((pos & this.#mask) + RECORD_KIND_OFFSET);
  }

  /**
   * The first position after `pos` (aligned, at most `end`) where sound
   * framing resumes: a chain of RESYNC_CHAIN sound frames, or fewer that end
   * exactly at `end`, each accepted by `plausible` (the record format's own
   * check of a kind, say). Returns `end` when there is none.
   */
  resync(pos: number, end: number, plausible: (pos: number) => boolean = () => true): number {
    // Positions are always aligned: every record and PAD is a whole number of RECORD_ALIGN bytes.
    for (let q = pos + RECORD_ALIGN; q < end; q += RECORD_ALIGN) {
      if (this.#chainFrom(q, end, plausible)) return q;
    }
    return end;
  }

  #chainFrom(q: number, end: number, plausible: (pos: number) => boolean): boolean {
    let p = q;
    for (let i = 0; i < RESYNC_CHAIN; i++) {
      const size = this.sizeAt(p, end);
      if (size === 0) return false;
      if (!this.isPad(p) && !plausible(p)) return false;
      p += size;
      if (p === end) return true;
    }
    return true;
  }
}
