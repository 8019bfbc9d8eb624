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

/** @internal set the generator's state (not all zero), for a known-answer test. */
export function seedRandomWords(a: number, b: number, c: number, d: number): void {
  s0 = a | 0;
  s1 = b | 0;
  s2 = c | 0;
  s3 = d | 0;
}

/** The next random 32-bit word, as an unsigned number. */
export function randomWord(): number {
  fillRandomWords(0, 1);
  return randomWords[0]! >>> 0;
}

/**
 * Where `fillRandomWords` puts its words: read them right after the call.
 * A span's six id words come from one call, with the generator's state in
 * locals, rather than six calls (past a few, V8 stopped inlining them).
 * Signed: an int32 is a small integer to V8, so a span keeps its ids in
 * plain fields, where uint32 values from 2^31 up would each be a boxed
 * double (the bits, which are all the ids are, are the same).
 */
export const randomWords = new Int32Array(6);

/** Fill `randomWords[from..to)` with the next random words. */
export function fillRandomWords(from: number, to: number): void {
  let a = s0;
  let b = s1;
  let c = s2;
  let d = s3;
  for (let i = from; i < to; i++) {
    const x = b * 5;
    // The store wraps to 32 bits.
    randomWords[i] = ((x << 7) | (x >>> 25)) * 9;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
  }
  s0 = a;
  s1 = b;
  s2 = c;
  s3 = d;
}
