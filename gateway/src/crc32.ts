/**
 * CRC-32 (IEEE 802.3, as zlib) and CRC-32C (Castagnoli, as iSCSI), the checksums S3 clients send
 * in `x-amz-checksum-crc32` / `-crc32c`. Table-driven, eight bytes a step ("slicing-by-8").
 */

function tablesFor(reversedPolynomial: number): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? reversedPolynomial ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) {
      const previous = tables[(t - 1) * 256 + n] as number;
      tables[t * 256 + n] = (previous >>> 8) ^ (tables[previous & 0xff] as number);
    }
  }
  return tables;
}

function update(t: Uint32Array, crc: number, bytes: Uint8Array): number {
  let c = ~crc;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  for (; i < end8; i += 8) {
    const a =
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24)) ^
      c;
    const b =
      (bytes[i + 4] as number) |
      ((bytes[i + 5] as number) << 8) |
      ((bytes[i + 6] as number) << 16) |
      ((bytes[i + 7] as number) << 24);
    c =
      (t[7 * 256 + (a & 0xff)] as number) ^
      (t[6 * 256 + ((a >>> 8) & 0xff)] as number) ^
      (t[5 * 256 + ((a >>> 16) & 0xff)] as number) ^
      (t[4 * 256 + (a >>> 24)] as number) ^
      (t[3 * 256 + (b & 0xff)] as number) ^
      (t[2 * 256 + ((b >>> 8) & 0xff)] as number) ^
      (t[256 + ((b >>> 16) & 0xff)] as number) ^
      (t[b >>> 24] as number);
  }
  for (; i < bytes.length; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

const CRC32_TABLES = tablesFor(0xedb88320);
const CRC32C_TABLES = tablesFor(0x82f63b78);

/** The CRC-32 of `bytes` continuing from `crc` (0 to start). */
export const crc32 = (bytes: Uint8Array, crc = 0): number => update(CRC32_TABLES, crc, bytes);
/** The CRC-32C of `bytes` continuing from `crc` (0 to start). */
export const crc32c = (bytes: Uint8Array, crc = 0): number => update(CRC32C_TABLES, crc, bytes);

/** A CRC as S3 writes it: four bytes, most significant first (then base64). */
export function crcBytes(crc: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, crc);
  return bytes;
}
