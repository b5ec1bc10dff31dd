/**
 * Why `text` is not an XML 1.0 document a parser would accept, as far as characters go: a
 * character outside the Char production, or a reference to one (`&#x0;`).
 */
export function xmlCharacterProblems(text: string): string[] {
  const problems: string[] = [];
  const bad = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.exec(text);
  if (bad) problems.push(`U+${bad[0].codePointAt(0)?.toString(16)} at ${bad.index}`);
  for (const [reference, hex, decimal] of text.matchAll(/&#(?:x([0-9a-fA-F]+)|(\d+));/g)) {
    const code = hex !== undefined ? Number.parseInt(hex, 16) : Number(decimal);
    const isChar =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!isChar) problems.push(`${reference} references no XML character`);
  }
  return problems;
}
