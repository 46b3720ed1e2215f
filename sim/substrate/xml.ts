/**
 * XML plumbing shared by the importers (Topology Zoo GraphML, SNDlib XML), over fast-xml-parser. Elements come
 * back as plain objects: attributes under `@_<name>`, text under `#text`, namespace prefixes removed.
 */
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { TopologyError } from "./topology.ts";

export type XmlElement = { readonly [name: string]: unknown };

/**
 * File text, decoded as its XML declaration says (SNDlib files declare ISO-8859-1), else UTF-8.
 * @throws TopologyError naming the path when it cannot be read.
 */
export function readXmlFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new TopologyError(`${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const declaration = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/.exec(
    bytes.subarray(0, 200).toString("latin1"),
  );
  const latin1 = /^(iso-8859-1|latin-?1)$/i.test(declaration?.[1] ?? "");
  return bytes.toString(latin1 ? "latin1" : "utf8");
}

/**
 * Validates and parses XML text. Elements named in `arrayTags` always come back as arrays (so one child and
 * many children look alike). @throws TopologyError naming `source`, line and column for malformed XML.
 */
export function parseXml(xmlText: string, source: string, arrayTags: readonly string[]): XmlElement {
  const valid = XMLValidator.validate(xmlText);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    const at = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new TopologyError(`${source}: malformed XML at ${at}: ${msg}`);
  }
  const tags = new Set(arrayTags);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    textNodeName: "#text",
    parseTagValue: false,
    parseAttributeValue: false,
    removeNSPrefix: true,
    isArray: (tag) => tags.has(tag),
  });
  return parser.parse(xmlText) as XmlElement;
}

/** Child elements named `tag`; text-only children come back as `{ "#text": ... }`. */
export function elements(parent: XmlElement, tag: string): XmlElement[] {
  const v = parent[tag];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) =>
    typeof x === "object" && x !== null ? (x as XmlElement) : { "#text": String(x) },
  );
}

/** An attribute's value, or undefined. */
export function attr(el: XmlElement, name: string): string | undefined {
  const v = el[`@_${name}`];
  return typeof v === "string" ? v : undefined;
}

/** An element's own text, or undefined when it has none. */
export function text(el: XmlElement): string | undefined {
  const v = el["#text"];
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
}

/** Trimmed text of the first child element `tag`: undefined when there is no such child, "" when it is empty. */
export function childText(el: XmlElement, tag: string): string | undefined {
  const child = elements(el, tag)[0];
  if (child === undefined) return undefined;
  return text(child)?.trim() ?? "";
}

/** A file name without directory and extension, e.g. `abilene` for `/x/abilene.xml`. */
export function fileStem(path: string): string {
  const base = basename(path);
  return base.slice(0, base.length - extname(base).length);
}
