import { afterEach, describe, expect, it, vi } from "vitest";
import { BASE62, BASE64_STANDARD, randomString, UPPER_ALNUM } from "../../src/crypto/random";

afterEach(() => {
  vi.restoreAllMocks();
});

/** How often each character of `alphabet` occurs in `text`. */
function counts(alphabet: string, text: string): number[] {
  const seen = new Map<string, number>();
  for (const char of text) seen.set(char, (seen.get(char) ?? 0) + 1);
  return [...alphabet].map((char) => seen.get(char) ?? 0);
}

/** Pearson's chi-square statistic of `observed` against a uniform distribution. */
function chiSquare(observed: number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  const expected = total / observed.length;
  return observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
}

/** `total` characters drawn in key-sized pieces, as the service draws them. */
function draw(alphabet: string, total: number, piece = 40): string {
  let text = "";
  while (text.length < total) text += randomString(alphabet, piece);
  return text.slice(0, total);
}

describe("randomString", () => {
  it("returns exactly the requested number of characters", () => {
    for (const length of [0, 1, 16, 40, 44, 1000]) {
      expect(randomString(BASE62, length)).toHaveLength(length);
    }
  });

  it("uses only characters of the alphabet", () => {
    for (const alphabet of [UPPER_ALNUM, BASE62, BASE64_STANDARD, "01"]) {
      const text = draw(alphabet, 20_000);
      expect(new Set(text)).toEqual(new Set(alphabet));
    }
  });

  it("draws every character equally often (chi-square, loose bound)", () => {
    // With k-1 degrees of freedom the statistic averages k-1; 3× that is far in the tail
    // (p < 1e-9 for 35 and 61 degrees) yet a biased generator overshoots it by far.
    for (const alphabet of [UPPER_ALNUM, BASE62, BASE64_STANDARD]) {
      const observed = counts(alphabet, draw(alphabet, 5000 * alphabet.length));
      expect(chiSquare(observed)).toBeLessThan(3 * (alphabet.length - 1) + 30);
    }
  });

  it("does not favour the first characters of a 36-character alphabet (no byte % 36 bias)", () => {
    // byte % 36 would give A–D 8 of 256 bytes and the rest 7: A–D would be 12.5% of the
    // output instead of 4/36 = 11.1%. With 360,000 draws the standard error is 0.05%.
    const text = draw(UPPER_ALNUM, 360_000);
    const firstFour = counts(UPPER_ALNUM, text)
      .slice(0, 4)
      .reduce((a, b) => a + b, 0);
    expect(firstFour / text.length).toBeCloseTo(4 / 36, 2);
    expect(Math.abs(firstFour / text.length - 4 / 36)).toBeLessThan(0.004);
  });

  it("discards the bytes that would bias the result, 252–255 for 36 characters", () => {
    // Feed the bytes 252, 253, 254, 255, 0, 1, …: an unbiased draw skips the first four and
    // maps 0–251 onto the alphabet exactly seven times each.
    let next = 252;
    vi.spyOn(crypto, "getRandomValues").mockImplementation((array) => {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (let i = 0; i < bytes.length; i++) {
        bytes[i] = next;
        next = (next + 1) % 256;
      }
      return array;
    });

    const text = randomString(UPPER_ALNUM, 252);
    expect(counts(UPPER_ALNUM, text)).toEqual(new Array(36).fill(7));
    expect(text.startsWith("ABCD")).toBe(true);
  });

  it("draws strings longer than one crypto.getRandomValues call may fill (65,536 bytes)", () => {
    const text = randomString(BASE62, 100_000);
    expect(text).toHaveLength(100_000);
    expect(new Set(text).size).toBe(62);
  });

  it("refuses alphabets it cannot draw from uniformly", () => {
    expect(() => randomString("A", 10)).toThrow(RangeError);
    expect(() => randomString("", 10)).toThrow(RangeError);
    expect(() => randomString("x".repeat(257), 10)).toThrow(RangeError);
  });
});
