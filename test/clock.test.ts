import t, { type Test } from 'tap';
import { performance } from 'node:perf_hooks';
import { nowMs, timeInputMs } from '../src/capture/clock.js';

// The producer reads the monotonic clock through process.hrtime() and puts it
// on performance.now()'s epoch once: every time it makes must agree with
// performance.timeOrigin + performance.now() read on either side of it.
const SLACK_MS = 0.001; // a float64 epoch in ms resolves ~0.24 us

function between(t: Test, read: () => number, what: string): void {
  let worst = 0;
  let last = -Infinity;
  let backwards = 0;
  for (let i = 0; i < 20_000; i++) {
    const before = performance.timeOrigin + performance.now();
    const time = read();
    const after = performance.timeOrigin + performance.now();
    worst = Math.max(worst, before - time, time - after);
    if (time < last) backwards++;
    last = time;
  }
  t.ok(worst <= SLACK_MS, `${what} lies between performance.now() reads on either side (worst ${(worst * 1e3).toFixed(3)} us outside)`);
  t.equal(backwards, 0, `${what} never runs backwards`);
}

t.test('nowMs() is performance.timeOrigin + performance.now()', async (t) => {
  between(t, nowMs, 'nowMs()');
});

t.test('timeInputMs(undefined) is now, on the same clock', async (t) => {
  between(t, () => timeInputMs(undefined), 'timeInputMs()');
});

t.test('a span that lasts a known time measures it', async (t) => {
  const start = nowMs();
  const until = performance.now() + 20;
  while (performance.now() < until);
  const elapsed = nowMs() - start;
  t.ok(elapsed >= 20 - SLACK_MS && elapsed < 1000, `20 ms busy-wait measured as ${elapsed.toFixed(3)} ms`);
});
