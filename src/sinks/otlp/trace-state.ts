/**
 * A span's W3C `tracestate` as the OpenTelemetry API's TraceState would
 * serialize it (`createTraceState(raw).serialize()`, what the SDK exporter
 * sends): invalid list members dropped, a repeated key kept once, at most 32
 * members, nothing when the header is longer than 512 characters. Written
 * here so the worker does not load `@opentelemetry/api` for it; the API is
 * the oracle in test/otlp-trace-state.test.ts, quirks included (past 32
 * members the API keeps the first 32 and writes them in reverse order).
 */

const MAX_MEMBERS = 32;
const MAX_LENGTH = 512;
const KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const VALUE = /^[ -~]{0,255}[!-~]$/;
const COMMA_OR_EQUALS = /,|=/;

/** @internal */
export function normalizeTraceState(raw: string): string {
  if (raw === '' || raw.length > MAX_LENGTH) return '';
  // Members right to left: a key's first (rightmost) appearance fixes its
  // place, its leftmost appearance its value.
  const members = new Map<string, string>();
  const parts = raw.split(',');
  for (let p = parts.length - 1; p >= 0; p--) {
    const part = parts[p]!;
    const member = part.trim();
    const eq = member.indexOf('=');
    if (eq === -1) continue;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1, part.length);
    if (KEY.test(key) && VALUE.test(value) && !COMMA_OR_EQUALS.test(value)) members.set(key, value);
  }
  const keys = [...members.keys()].reverse();
  // Past 32 members the API keeps the leftmost 32 and writes them right to left.
  const kept = keys.length > MAX_MEMBERS ? keys.slice(0, MAX_MEMBERS).reverse() : keys;
  return kept.map((key) => `${key}=${members.get(key)!}`).join(',');
}
