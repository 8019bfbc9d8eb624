/**
 * A bounded, never-throwing string form for values the record format has no
 * tag for: objects, symbols, functions, cyclic values, hostile proxies.
 * Objects render as JSON-like text, cut at `maxLength` characters, at depth 4
 * and at 32 keys per object; a getter that throws renders as `[Throws]`.
 */

const MAX_DEPTH = 4;
const MAX_KEYS = 32;

export function safeString(value: unknown, maxLength: number): string {
  const out: string[] = [];
  const state = { length: 0, max: maxLength };
  try {
    render(value, 0, new Set(), out, state);
  } catch {
    out.push('[Unrenderable]');
  }
  const text = out.join('');
  return text.length > maxLength ? text.slice(0, maxLength) + '…' : text;
}

interface RenderState {
  length: number;
  max: number;
}

function push(out: string[], state: RenderState, text: string): boolean {
  out.push(text);
  state.length += text.length;
  return state.length <= state.max;
}

function render(value: unknown, depth: number, seen: Set<object>, out: string[], state: RenderState): boolean {
  switch (typeof value) {
    case 'string':
      return push(out, state, depth === 0 ? value : JSON.stringify(value));
    case 'number':
    case 'boolean':
      return push(out, state, String(value));
    case 'bigint':
      return push(out, state, `${value}n`);
    case 'undefined':
      return push(out, state, 'undefined');
    case 'symbol':
      return push(out, state, value.toString());
    case 'function':
      return push(out, state, `[Function ${value.name || 'anonymous'}]`);
    default:
      break;
  }
  if (value === null) return push(out, state, 'null');
  const obj = value as object;
  if (seen.has(obj)) return push(out, state, '[Circular]');
  if (depth >= MAX_DEPTH) return push(out, state, Array.isArray(obj) ? '[Array]' : '[Object]');
  if (obj instanceof Error) return push(out, state, `${obj.name}: ${obj.message}`);
  if (obj instanceof Date) return push(out, state, Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString());
  seen.add(obj);
  try {
    const isArray = Array.isArray(obj);
    const keys = Object.keys(obj);
    if (!push(out, state, isArray ? '[' : '{')) return false;
    const n = Math.min(keys.length, MAX_KEYS);
    for (let i = 0; i < n; i++) {
      if (i > 0 && !push(out, state, ',')) return false;
      const key = keys[i]!;
      if (!isArray && !push(out, state, JSON.stringify(key) + ':')) return false;
      let item: unknown;
      try {
        item = (obj as Record<string, unknown>)[key];
      } catch {
        if (!push(out, state, '[Throws]')) return false;
        continue;
      }
      if (!render(item, depth + 1, seen, out, state)) return false;
    }
    if (keys.length > n && !push(out, state, `,…+${keys.length - n}`)) return false;
    return push(out, state, isArray ? ']' : '}');
  } catch {
    return push(out, state, '[Unreadable]');
  } finally {
    seen.delete(obj);
  }
}
