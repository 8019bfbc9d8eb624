import t from 'tap';
import { fillRandomWords, randomWord, randomWords, seedRandomWords } from '../src/capture/id-words.js';

t.test('random id words: unsigned 32-bit, every bit fair, 64-bit span ids unique', async (t) => {
  const n = 100_000;
  const ones = new Array<number>(32).fill(0);
  const spanIds = new Set<string>();
  let outOfRange = 0;
  for (let i = 0; i < n; i++) {
    const a = randomWord();
    const b = randomWord();
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff) outOfRange++;
    for (let bit = 0; bit < 32; bit++) if ((a >>> bit) & 1) ones[bit]!++;
    spanIds.add(`${a}:${b}`);
  }
  t.equal(outOfRange, 0, 'every word is an unsigned 32-bit integer');
  // Each bit is set in half the words, within 5 standard deviations (±0.8% here).
  const sd = Math.sqrt(n) / 2;
  t.ok(ones.every((c) => Math.abs(c - n / 2) < 5 * sd), `bits fair: ${ones.map((c) => (c / n).toFixed(3)).join(' ')}`);
  t.equal(spanIds.size, n, 'no two 64-bit ids alike');
});

t.test('fillRandomWords fills exactly the slice asked for, with fresh words each time', async (t) => {
  randomWords.fill(7);
  fillRandomWords(4, 6);
  t.same([...randomWords.subarray(0, 4)], [7, 7, 7, 7], 'words before the slice untouched');
  const seen = new Set<number>();
  let repeats = 0;
  for (let i = 0; i < 10_000; i++) {
    fillRandomWords(0, 6);
    for (const w of randomWords) {
      if (seen.has(w)) repeats++;
      seen.add(w);
    }
  }
  // 60,000 draws from 2^32: a repeat is possible (0.42 expected; more than 5 about once in 200,000 runs).
  t.ok(repeats <= 5, `words do not repeat (${repeats} repeats in 60,000)`);
});

t.test('the generator is xoshiro128**: its reference output for the state 1, 2, 3, 4', async (t) => {
  seedRandomWords(1, 2, 3, 4);
  const words = Array.from({ length: 8 }, () => randomWord());
  // The reference implementation's first outputs from this state (Blackman and Vigna's xoshiro128starstar.c).
  t.same(words, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  seedRandomWords(0x9e3779b9, 0x7f4a7c15, 0xf39cc060, 0x5ced1b3b); // any fresh state for the tests after
});
