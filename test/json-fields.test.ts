/**
 * The one JSON-value helper of the JSON-writing sinks, and the three sinks
 * writing non-finite numbers and BigInts the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import { copyJsonFields, jsonValue } from '../src/sinks/json-fields.js';

t.test('jsonValue: bigint, NaN and ±Infinity as strings, arrays element by element, the rest as they are', async (t) => {
  t.same(
    [1n, NaN, Infinity, -Infinity, 1.5, 'x', true, null, [1n, NaN, 'a']].map((v) => jsonValue(v as never)),
    ['1', 'NaN', 'Infinity', '-Infinity', 1.5, 'x', true, null, ['1', 'NaN', 'a']],
  );
  const out = copyJsonFields({}, Object.assign(Object.create(null), { ['__proto__']: 1, a: 2n }));
  t.same(Object.keys(out), ['__proto__', 'a'], 'a __proto__ key stays an ordinary property');
  t.equal(Object.getPrototypeOf(out), Object.prototype);
});

t.test('ndjson, pino and chrome-trace write the same JSON for values JSON has no form for', async (t) => {
  const dir = t.testdir();
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'ndjson', sink: 'ndjson', filter: 'trace', options: { destination: join(dir, 'a.ndjson') } },
      { name: 'pino', sink: 'pino', filter: 'trace', options: { destination: join(dir, 'b.log') } },
      { name: 'chrome', sink: 'chrome-trace', filter: 'trace', options: { path: join(dir, 'c.json') } },
    ],
  });
  d.logger('app').info('odd numbers', { nan: NaN, inf: Infinity, ninf: -Infinity, big: 2n ** 70n });
  await d.shutdown();
  const want = { nan: 'NaN', inf: 'Infinity', ninf: '-Infinity', big: (2n ** 70n).toString() };
  const ndjson = JSON.parse(readFileSync(join(dir, 'a.ndjson'), 'utf8').trim()) as { fields: unknown };
  t.same(ndjson.fields, want, 'ndjson');
  const pino = JSON.parse(readFileSync(join(dir, 'b.log'), 'utf8').trim()) as Record<string, unknown>;
  t.match(pino, want, 'pino');
  const chrome = (JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')) as { name: string; args?: unknown }[]).find((e) => e.name === 'odd numbers');
  t.match(chrome?.args, want, 'chrome-trace');
});
