import t from 'tap';
import { FilterSyntaxError } from '../src/errors.js';
import { LEVEL_DEBUG, LEVEL_ERROR, LEVEL_INFO, LEVEL_OFF, LEVEL_TRACE, LEVEL_WARN } from '../src/filter/levels.js';
import { DEFAULT_FILTER_LEVEL, TargetFilter } from '../src/filter/target-filter.js';

t.test('parse then print gives back the same string', async (t) => {
  for (const text of [
    'info',
    'info,http=debug,db.pool=off',
    'http=debug,info', // default level after a directive keeps its place
    'trace',
    'error,a=trace,ab=debug,abc=info,abcd=warn,abcde=error,abcdef=off',
    'db=warn',
    'off',
    '',
  ]) {
    t.equal(TargetFilter.parse(text).toString(), text, JSON.stringify(text));
  }
});

t.test('round trip: parse(print(f)) is the same filter', async (t) => {
  for (const text of [' info , http = debug ', 'http=debug,warn,db=off', 'x.y.z=trace']) {
    const f = TargetFilter.parse(text);
    const g = TargetFilter.parse(f.toString());
    t.equal(g.toString(), f.toString());
    t.same(g.directives, f.directives);
    t.equal(g.defaultLevel, f.defaultLevel);
  }
  t.equal(TargetFilter.parse(' info , http = debug ').toString(), 'info,http=debug', 'whitespace is normalised');
});

t.test('longest matching prefix wins, whatever the order given', async (t) => {
  for (const text of ['warn,http=debug,http.client=error,http.client.pool=off', 'http.client.pool=off,http.client=error,warn,http=debug']) {
    const f = TargetFilter.parse(text);
    t.equal(f.levelFor('http'), LEVEL_DEBUG, text);
    t.equal(f.levelFor('http.server'), LEVEL_DEBUG);
    t.equal(f.levelFor('https'), LEVEL_DEBUG, 'plain string prefix, as documented');
    t.equal(f.levelFor('http.client'), LEVEL_ERROR);
    t.equal(f.levelFor('http.client.x'), LEVEL_ERROR);
    t.equal(f.levelFor('http.client.pool'), LEVEL_OFF);
    t.equal(f.levelFor('db'), LEVEL_WARN, 'unmatched target gets the default level');
    t.equal(f.levelFor(''), LEVEL_WARN);
    t.equal(f.levelNameFor('http.client.pool.x'), 'off');
    t.equal(f.levelNameFor('http'), 'debug');
  }
});

t.test('levels order trace < debug < info < warn < error, and off accepts nothing', async (t) => {
  const levels = [LEVEL_TRACE, LEVEL_DEBUG, LEVEL_INFO, LEVEL_WARN, LEVEL_ERROR];
  const names = ['trace', 'debug', 'info', 'warn', 'error'];
  names.forEach((name, i) => {
    const f = TargetFilter.parse(`x=${name}`);
    levels.forEach((level, j) => t.equal(f.accepts('x', level), j >= i, `${name} accepts level ${level}: ${j >= i}`));
    t.equal(f.levelNameFor('x'), name);
  });
  const off = TargetFilter.parse('off');
  for (const level of levels) t.notOk(off.accepts('anything', level));
  t.ok(off.acceptsNothing);
  t.notOk(TargetFilter.parse('off,db=error').acceptsNothing, 'a directive can re-open a target');
  t.equal(TargetFilter.parse('off,db=error').minLevel, LEVEL_ERROR);
  t.equal(TargetFilter.parse('error,db=debug').minLevel, LEVEL_DEBUG);
});

t.test('default level is info when none is given', async (t) => {
  t.equal(DEFAULT_FILTER_LEVEL, LEVEL_INFO);
  t.equal(TargetFilter.parse('').defaultLevel, LEVEL_INFO);
  t.equal(TargetFilter.parse('  ').defaultLevel, LEVEL_INFO);
  const f = TargetFilter.parse('db=off');
  t.equal(f.defaultLevel, LEVEL_INFO);
  t.ok(f.accepts('http', LEVEL_INFO));
  t.notOk(f.accepts('http', LEVEL_DEBUG));
  t.ok(TargetFilter.all().accepts('anything', LEVEL_TRACE), 'all() accepts every record');
});

t.test('every kind of bad directive is a FilterSyntaxError quoting it', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['info,,http=debug', '', /empty directive/],
    ['info,', '', /empty directive/],
    ['verbose', 'verbose', /unknown level/],
    ['INFO', 'INFO', /unknown level/],
    ['info,warn', 'warn', /default level is given twice/],
    ['http=loud', 'http=loud', /unknown level/],
    ['http=', 'http=', /unknown level/],
    ['=debug', '=debug', /bad or empty target/],
    ['a b=debug', 'a b=debug', /bad or empty target/],
    ['a=b=debug', 'a=b=debug', /unknown level/],
    ['http=debug,http=info', 'http=info', /target given twice/],
  ];
  for (const [text, directive, reason] of cases) {
    const err = t.throws(() => TargetFilter.parse(text), FilterSyntaxError, JSON.stringify(text)) as FilterSyntaxError;
    t.equal(err.name, 'FilterSyntaxError');
    t.equal(err.directive, directive, `${JSON.stringify(text)} names ${JSON.stringify(directive)}`);
    t.equal(err.directives, text);
    t.match(err.message, reason);
    t.ok(err.message.includes(JSON.stringify(directive)), 'the message quotes the directive');
    t.ok(err instanceof SyntaxError);
  }
  const err = t.throws(() => TargetFilter.parse(42 as unknown as string), FilterSyntaxError) as FilterSyntaxError;
  t.match(err.message, /must be a string/);
});
