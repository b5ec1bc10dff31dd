import { XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Error } from "./errors";

/**
 * S3's XML request bodies (DeleteObjects, CompleteMultipartUpload), read with fast-xml-parser.
 * Text is kept exactly (no trimming, no number parsing: a key " 007 " stays " 007 "), XML's
 * five entities and numeric character references are decoded, and anything else that is not
 * well-formed XML 1.0 is MalformedXML: a DOCTYPE (no entity of our own making), a named entity
 * XML does not define, a reference to a character XML cannot carry (&#0;).
 */

/** An element: its child elements by name, in document order; text-only children are strings. */
export interface XmlElement {
  [name: string]: (XmlElement | string)[];
}

export const malformedXml = () =>
  new S3Error(
    "MalformedXML",
    "The XML you provided was not well-formed or did not validate against our published schema.",
  );

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  // Decodes numeric character references too; HTML's named entities never reach it (below).
  htmlEntities: true,
  // Every element a list, so one Object and a thousand read alike.
  isArray: () => true,
});

const isXmlChar = (code: number) =>
  code === 0x9 ||
  code === 0xa ||
  code === 0xd ||
  (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) ||
  (code >= 0x10000 && code <= 0x10ffff);

/** Every `&` starts one of XML's five entities or a reference to a character XML allows. */
function referencesAreXml(text: string): boolean {
  for (const match of text.matchAll(/&([^;&<]*);?/g)) {
    const [whole, name] = match as unknown as [string, string];
    if (!whole.endsWith(";")) return false;
    if (["amp", "lt", "gt", "quot", "apos"].includes(name)) continue;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (!numeric) return false;
    const code = numeric[1] !== undefined ? Number.parseInt(numeric[1], 16) : Number(numeric[2]);
    if (!isXmlChar(code)) return false;
  }
  return true;
}

/** The document's root element, which must be named `root`; MalformedXML otherwise. */
export function parseXmlDocument(text: string, root: string): XmlElement {
  if (/<!DOCTYPE/i.test(text) || !referencesAreXml(text) || XMLValidator.validate(text) !== true) {
    throw malformedXml();
  }
  let document: XmlElement;
  try {
    document = parser.parse(text) as XmlElement;
  } catch {
    // fast-xml-parser refuses element names such as "constructor" or "__proto__".
    throw malformedXml();
  }
  const names = Object.keys(document).filter((name) => name !== "#text");
  const element = document[root]?.[0];
  if (names.length !== 1 || typeof element !== "object") throw malformedXml();
  return element;
}

/** The child elements named `name` (an element holding only text has no children). */
export function childrenOf(element: XmlElement, name: string): XmlElement[] {
  return (Object.hasOwn(element, name) ? (element[name] ?? []) : []).map((child) =>
    typeof child === "string" ? {} : child,
  );
}

/**
 * The text of the one child named `name`: undefined when absent, MalformedXML when repeated or
 * holding elements.
 */
export function textOf(element: XmlElement, name: string): string | undefined {
  const values = Object.hasOwn(element, name) ? (element[name] ?? []) : [];
  if (values.length === 0) return undefined;
  const [value] = values;
  if (values.length > 1 || typeof value !== "string") throw malformedXml();
  return value;
}
