/**
 * The answer to an OTLP export: `ExportTraceServiceResponse` /
 * `ExportLogsServiceResponse` (protobuf or JSON), read for its partial
 * success only — `partial_success` (field 1) holding `rejected_spans` /
 * `rejected_log_records` (field 1, int64) and `error_message` (field 2).
 * Unknown fields are skipped; a body that does not parse reads as nothing
 * rejected, so a collector's odd answer never fails an export that it took.
 *
 * @internal
 */
import type { OtlpProtocol } from '../otlp-config.js';

export interface ExportResponse {
  /** Items the collector says it rejected (0 when it says nothing). */
  rejected: number;
  /** Its explanation ('' when none). */
  errorMessage: string;
}

/** A protobuf reader that stops (returns -1) at anything malformed instead of throwing. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    from: number,
    readonly end: number,
  ) {
    this.pos = from;
  }

  /** A varint as a signed 64-bit number (precision past 2^53 lost); NaN when truncated. */
  varint(): number {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) return NaN;
      const b = this.buf[this.pos++]!;
      if (shift < 28) low |= (b & 127) << shift;
      else if (shift === 28) {
        low |= (b & 15) << 28;
        high |= (b & 127) >> 4;
      } else high |= (b & 127) << (shift - 32);
      if ((b & 128) === 0) return (high | 0) * 4294967296 + (low >>> 0);
    }
    return NaN;
  }

  /** Skips a field's value; false when it cannot. */
  skip(wireType: number): boolean {
    switch (wireType) {
      case 0:
        return !Number.isNaN(this.varint());
      case 1:
        this.pos += 8;
        return this.pos <= this.end;
      case 2: {
        const len = this.varint();
        if (!(len >= 0)) return false;
        this.pos += len;
        return this.pos <= this.end;
      }
      case 5:
        this.pos += 4;
        return this.pos <= this.end;
      default:
        return false;
    }
  }
}

const NONE: ExportResponse = { rejected: 0, errorMessage: '' };

function decodeProtobuf(body: Uint8Array): ExportResponse {
  const r = new Reader(body, 0, body.length);
  let result = NONE;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (Number.isNaN(tag)) return NONE;
    if (tag === 0x0a) {
      const len = r.varint();
      if (!(len >= 0) || r.pos + len > r.end) return NONE;
      const partial = decodePartial(new Reader(body, r.pos, r.pos + len));
      if (partial === undefined) return NONE;
      result = partial;
      r.pos += len;
    } else if (!r.skip(tag & 7)) return NONE;
  }
  return result;
}

function decodePartial(r: Reader): ExportResponse | undefined {
  let rejected = 0;
  let errorMessage = '';
  while (r.pos < r.end) {
    const tag = r.varint();
    if (Number.isNaN(tag)) return undefined;
    if (tag === 0x08) {
      rejected = r.varint();
      if (Number.isNaN(rejected)) return undefined;
    } else if (tag === 0x12) {
      const len = r.varint();
      if (!(len >= 0) || r.pos + len > r.end) return undefined;
      errorMessage = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, len).toString('utf8');
      r.pos += len;
    } else if (!r.skip(tag & 7)) return undefined;
  }
  return { rejected, errorMessage };
}

function decodeJson(body: Uint8Array, signal: 'traces' | 'logs'): ExportResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
  } catch {
    return NONE;
  }
  const partial = (parsed as { partialSuccess?: unknown } | null)?.partialSuccess;
  if (partial === null || typeof partial !== 'object') return NONE;
  const p = partial as Record<string, unknown>;
  const raw = p[signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords'];
  // int64 in OTLP/JSON is a decimal string; a number is taken too.
  const rejected = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : 0;
  return { rejected: Number.isFinite(rejected) ? rejected : 0, errorMessage: typeof p.errorMessage === 'string' ? p.errorMessage : '' };
}

/** The partial success in an export's answer; `{ rejected: 0, errorMessage: '' }` when there is none or it does not parse. Never throws. */
export function decodeExportResponse(body: Uint8Array, protocol: OtlpProtocol, signal: 'traces' | 'logs'): ExportResponse {
  if (body.length === 0) return NONE;
  return protocol === 'http/json' ? decodeJson(body, signal) : decodeProtobuf(body);
}
