import t from 'tap';
import { LEVEL_DEBUG, LEVEL_ERROR, LEVEL_INFO, LEVEL_OFF, LEVEL_TRACE, LEVEL_WARN } from '../src/filter/levels.js';
import { LevelHint } from '../src/filter/level-hint.js';
import { TargetFilter } from '../src/filter/target-filter.js';

t.test('the hint is the union of every sink filter, per target', async (t) => {
  const hint = new LevelHint();
  hint.update([TargetFilter.parse('warn,http=debug'), TargetFilter.parse('error,db=trace,http.client=off')]);
  t.equal(hint.levelFor('http'), LEVEL_DEBUG);
  t.equal(hint.levelFor('http.client'), LEVEL_DEBUG, 'the other sink still wants http.client at debug');
  t.equal(hint.levelFor('db'), LEVEL_TRACE);
  t.equal(hint.levelFor('other'), LEVEL_WARN);
  t.equal(hint.minLevel, LEVEL_TRACE);
  t.ok(hint.enabled('db.pool', LEVEL_TRACE));
  t.notOk(hint.enabled('other', LEVEL_INFO));
  t.ok(hint.enabled('other', LEVEL_ERROR));
  t.equal(hint.levelFor('http'), LEVEL_DEBUG, 'cached answer is the same');
});

t.test('no sinks: nothing is enabled', async (t) => {
  const hint = new LevelHint();
  t.equal(hint.minLevel, LEVEL_OFF);
  t.equal(hint.levelFor('x'), LEVEL_OFF);
  t.notOk(hint.enabled('x', LEVEL_ERROR));
  hint.update([TargetFilter.parse('off')]);
  t.notOk(hint.enabled('x', LEVEL_ERROR));
});

t.test('generation bumps on every update and the answers follow', async (t) => {
  const hint = new LevelHint();
  const g0 = hint.generation;
  hint.update([TargetFilter.parse('info')]);
  t.equal(hint.generation, g0 + 1);
  t.equal(hint.levelFor('x'), LEVEL_INFO);
  hint.update([TargetFilter.parse('info'), TargetFilter.parse('x=trace')]);
  t.equal(hint.generation, g0 + 2);
  t.equal(hint.levelFor('x'), LEVEL_TRACE, 'a sink added: the cache is refreshed');
  hint.update([TargetFilter.parse('info')]);
  t.equal(hint.generation, g0 + 3);
  t.equal(hint.levelFor('x'), LEVEL_INFO, 'the sink removed: back to info');
  t.equal(hint.minLevel, LEVEL_INFO);
});

t.test('the per-target cache is bounded', async (t) => {
  const hint = new LevelHint();
  hint.update([TargetFilter.parse('info,t1=debug')]);
  let wrong = 0;
  // More targets than the cache holds: answers stay right after it is cleared.
  for (let i = 0; i < 10_000; i++) if (hint.levelFor(`t${i}`) !== (String(i).startsWith('1') ? LEVEL_DEBUG : LEVEL_INFO)) wrong++;
  t.equal(wrong, 0);
});
