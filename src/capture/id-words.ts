/**
 * Random trace and span id words. OpenTelemetry ids need to be unique, not
 * secret (the SDK makes them with Math.random), and making them must not
 * dominate the cost of a span: xoshiro128** gives a 32-bit word in a few
 * integer operations, with a period of 2^128 − 1, seeded once per process
 * from the operating system's randomness.
 */
import { randomFillSync } from 'node:crypto';

const seed = new Uint32Array(4);
do randomFillSync(seed);
while ((seed[0]! | seed[1]! | seed[2]! | seed[3]!) === 0);
let s0 = seed[0]!;
let s1 = seed[1]!;
let s2 = seed[2]!;
let s3 = seed[3]!;

/** The next random 32-bit word, as an unsigned number. */
export function randomWord(): number {
  const x = s1 * 5;
  const result = (((x << 7) | (x >>> 25)) * 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 11) | (s3 >>> 21);
  return result;
}
