import { describe, expect, it } from "vitest";
import { crc32, crc32c, crcBytes } from "../src/crc32";

const ascii = (text: string) => new TextEncoder().encode(text);
const hex = (n: number) => n.toString(16).padStart(8, "0");

describe("CRC-32 (IEEE)", () => {
  it("matches the published check values", () => {
    expect(hex(crc32(ascii("123456789")))).toBe("cbf43926");
    expect(hex(crc32(ascii("The quick brown fox jumps over the lazy dog")))).toBe("414fa339");
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("gives the same value fed in pieces of any size as in one go", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(1000));
    const whole = crc32(bytes);
    for (const cut of [1, 7, 8, 9, 500, 999]) {
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(whole);
    }
  });
});

describe("CRC-32C (Castagnoli)", () => {
  it("matches the check value and RFC 3720's test vectors", () => {
    expect(hex(crc32c(ascii("123456789")))).toBe("e3069283");
    expect(hex(crc32c(new Uint8Array(32)))).toBe("8a9136aa");
    expect(hex(crc32c(new Uint8Array(32).fill(0xff)))).toBe("62a8ab43");
    expect(hex(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)))).toBe("46dd794e");
    expect(hex(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe("113fdb5c");
  });

  it("gives the same value fed in pieces as in one go", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(333));
    expect(crc32c(bytes.subarray(100), crc32c(bytes.subarray(0, 100)))).toBe(crc32c(bytes));
  });
});

it("a CRC is written as S3 sends it: four bytes, big-endian, then base64", () => {
  const bytes = crcBytes(crc32(ascii("123456789")));
  expect([...bytes]).toEqual([0xcb, 0xf4, 0x39, 0x26]);
  expect(btoa(String.fromCharCode(...bytes))).toBe("y/Q5Jg==");
});
