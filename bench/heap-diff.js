/**
 * What grew between two V8 heap snapshots of the same isolate: nodes grouped
 * by type and constructor/name, sorted by the growth of their self size.
 *
 *   node bench/heap-diff.js before.heapsnapshot after.heapsnapshot [top=25]
 */
import { readFileSync } from 'node:fs';
import { isMain, table } from './measure.js';

/** `Map<"type name", { count, size }>` for one snapshot. */
export function summarize(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [TYPE, NAME, SIZE] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const groups = new Map();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + TYPE]];
    // Strings and code are named by their content: group them by type alone.
    const name = type === 'object' || type === 'closure' || type === 'native' ? strings[nodes[i + NAME]] : '';
    const key = `${type} ${name}`.trim();
    const g = groups.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += nodes[i + SIZE];
    groups.set(key, g);
  }
  return groups;
}

export function diff(beforePath, afterPath, top = 25) {
  const a = summarize(beforePath);
  const b = summarize(afterPath);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((k) => {
    const x = a.get(k) ?? { count: 0, size: 0 };
    const y = b.get(k) ?? { count: 0, size: 0 };
    return { key: k, dCount: y.count - x.count, dSize: y.size - x.size, count: y.count, size: y.size };
  });
  rows.sort((p, q) => q.dSize - p.dSize);
  const total = (g) => [...g.values()].reduce((s, v) => s + v.size, 0);
  return { before: total(a), after: total(b), rows: rows.slice(0, top) };
}

if (isMain(import.meta.url)) {
  const [before, after, top] = process.argv.slice(2);
  const d = diff(before, after, top === undefined ? 25 : Number(top));
  console.log(`total self size ${d.before} -> ${d.after} bytes (${d.after - d.before >= 0 ? '+' : ''}${d.after - d.before})`);
  console.log(table(['type name', 'Δ count', 'Δ bytes', 'count after', 'bytes after'], d.rows.map((r) => [r.key.slice(0, 60), r.dCount, r.dSize, r.count, r.size])));
}
