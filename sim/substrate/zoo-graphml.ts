/**
 * Importer for Internet Topology Zoo GraphML files.
 *
 * Source format: S. Knight, H. X. Nguyen, N. Falkner, R. Bowden, M. Roughan, "The Internet Topology Zoo",
 * IEEE JSAC 29(9):1765-1775, 2011, doi:10.1109/JSAC.2011.111002 (data CC BY 4.0, archive
 * github.com/mroughan/InternetTopologyZoo). Each file is GraphML 1.0 with `edgedefault="undirected"`:
 *
 * - `<key id="d7" for="node|edge|graph|all" attr.name="Latitude">` declares an attribute; the ids (`d0`, `d1`, ...)
 *   differ in every file, so every `<data key=...>` is resolved through its `<key>` to an attribute name.
 * - Nodes: GraphML `id`, `label` (PoP name), `Latitude`/`Longitude` (decimal degrees; missing for some or all nodes).
 * - Edges: `LinkSpeedRaw` (bits/s, float), `LinkSpeed` + `LinkSpeedUnits` (e.g. `10` + `G`), `LinkLabel` (free
 *   text such as `OC-192c` or `10 Gbps`); any of them may be missing. Multigraphs repeat an edge with a `key`.
 * - Graph: `Network` (the network's name) and descriptive metadata.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type LinkDefaults,
  type LinkProps,
  type Topology,
  TopologyBuilder,
  TopologyError,
} from "./topology.ts";
import { attr, elements, fileStem, parseXml, readXmlFile, text, type XmlElement } from "./xml.ts";

/** Options shared by the Zoo readers. */
export interface ZooReadOptions {
  /** Link properties for whatever the file leaves out (capacity, delay without coordinates, loss, ...). */
  defaults?: Partial<LinkDefaults>;
  /** Topology name; defaults to the graph's `Network` attribute, else the file name without extension. */
  name?: string;
  /**
   * Receives one sentence per thing read differently from the file (a dropped self-loop), starting with the file
   * and element, for the caller to show (the CLI prints them on stderr). Default: dropped silently.
   */
  onWarning?: (message: string) => void;
}

/** Absolute path of the Topology Zoo files bundled with topocast (`data/topologies/topology-zoo`). */
export const BUNDLED_TOPOLOGIES_DIR: string = fileURLToPath(
  new URL("../../data/topologies/topology-zoo", import.meta.url),
);

/**
 * Reads a Topology Zoo GraphML file into a {@link Topology}; see {@link parseZooGraphml} for the mapping.
 * Throws {@link TopologyError} naming `path` when the file cannot be read or is not valid Zoo GraphML.
 */
export function readZooGraphml(path: string, opts: ZooReadOptions = {}): Topology {
  return parseZooGraphml(readXmlFile(path), path, opts);
}

/**
 * Reads one of the bundled Zoo networks by name, e.g. `readBundledZoo("Abilene")` (a `.graphml` suffix is
 * accepted). Throws {@link TopologyError} listing the bundled names when there is no such file.
 */
export function readBundledZoo(name: string, opts: ZooReadOptions = {}): Topology {
  const stem = name.endsWith(".graphml") ? name.slice(0, -".graphml".length) : name;
  const available = readdirSync(BUNDLED_TOPOLOGIES_DIR)
    .filter((f) => f.endsWith(".graphml"))
    .map(fileStem)
    .sort();
  if (!available.includes(stem)) {
    throw new TopologyError(
      `bundled Topology Zoo network ${JSON.stringify(name)} not found; available: ${available.join(", ")}`,
    );
  }
  return readZooGraphml(join(BUNDLED_TOPOLOGIES_DIR, `${stem}.graphml`), opts);
}

/**
 * Parses Topology Zoo GraphML text into a {@link Topology}. `source` (usually the file path) starts every error.
 *
 * - Node id = the GraphML node `id` string; label = `label`; lat/lon = `Latitude`/`Longitude` when both are present.
 * - Each undirected edge becomes a bidirectional link (two directed links, each other's reverse); an edge with
 *   `directed="true"`, or any edge of an `edgedefault="directed"` graph, becomes one directed link. Parallel edges
 *   stay parallel links.
 * - Capacity (bits/s), first that applies: `LinkSpeedRaw`; `LinkSpeed` x `LinkSpeedUnits` (k/M/G/T);
 *   {@link parseLinkLabelBps} of `LinkLabel`; else the defaults' `capacityBps`.
 * - Delay is left to {@link TopologyBuilder}: great-circle distance / 2e8 m/s when both ends have coordinates,
 *   else the defaults' `delayNs`.
 * - Name: `opts.name`, else the graph's `Network` attribute, else the file name in `source` without extension.
 *
 * - A self-loop (an edge from a node to itself, as some Zoo networks draw a PoP's internal links) is dropped, with a
 *   warning to `opts.onWarning`.
 *
 * Throws {@link TopologyError} for malformed XML, a missing `<graphml>`/`<graph>`, `<data>` with an undeclared
 * key, a node without id or with a duplicate id or bad coordinates, an edge to an unknown node, and a
 * non-positive `LinkSpeedRaw`; messages read like `Abilene.graphml: edge 3 (source "12", target "99"):
 * unknown target node "99"` (nodes and edges are numbered from 0 in document order).
 */
export function parseZooGraphml(xmlText: string, source: string, opts: ZooReadOptions = {}): Topology {
  const doc = parseXml(xmlText, source, ["key", "graph", "node", "edge", "data"]);
  const root = elements(doc, "graphml")[0];
  if (!root) throw new TopologyError(`${source}: not a GraphML document (no <graphml> root element)`);
  const keys = readKeys(root, source);

  const graphs = elements(root, "graph");
  if (graphs.length !== 1) {
    throw new TopologyError(`${source}: expected exactly one <graph> element, found ${graphs.length}`);
  }
  const graph = graphs[0]!;
  const graphData = readData(graph, "graph", keys, `${source}: graph`);
  const builder = new TopologyBuilder(
    opts.name ?? graphData.get("Network") ?? fileStem(source),
    source,
    opts.defaults,
  );

  elements(graph, "node").forEach((el, i) => {
    const id = attr(el, "id");
    const where =
      id === undefined ? `${source}: node ${i}` : `${source}: node ${i} (id ${JSON.stringify(id)})`;
    if (id === undefined || id === "") throw new TopologyError(`${where}: missing id attribute`);
    if (builder.hasNode(id)) throw new TopologyError(`${where}: duplicate node id`);
    const data = readData(el, "node", keys, where);
    builder.addNode({ id, label: data.get("label"), ...readCoordinates(data, where) });
  });

  const directedByDefault = attr(graph, "edgedefault") === "directed";
  elements(graph, "edge").forEach((el, i) => {
    const src = attr(el, "source");
    const dst = attr(el, "target");
    const where = `${source}: edge ${i} (source ${JSON.stringify(src)}, target ${JSON.stringify(dst)})`;
    if (src === undefined || dst === undefined) throw new TopologyError(`${where}: missing source or target`);
    if (!builder.hasNode(src))
      throw new TopologyError(`${where}: unknown source node ${JSON.stringify(src)}`);
    if (!builder.hasNode(dst))
      throw new TopologyError(`${where}: unknown target node ${JSON.stringify(dst)}`);
    const data = readData(el, "edge", keys, where);
    if (src === dst) {
      // Several Zoo networks draw a PoP's internal links as an edge to itself; it carries no traffic between nodes.
      opts.onWarning?.(`${where}: self-loop at node ${JSON.stringify(src)} dropped`);
      return;
    }
    const props: Partial<LinkProps> = {};
    const capacityBps = edgeCapacityBps(data, where);
    if (capacityBps !== undefined) props.capacityBps = capacityBps;
    const directedAttr = attr(el, "directed");
    const directed = directedAttr === undefined ? directedByDefault : directedAttr === "true";
    builder.addLink(src, dst, props, !directed);
  });

  return builder.build();
}

/** Multipliers of the Zoo's `LinkSpeedUnits` attribute. */
const SPEED_UNIT_BPS: Readonly<Record<string, number>> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

function edgeCapacityBps(data: ReadonlyMap<string, string>, where: string): number | undefined {
  const raw = data.get("LinkSpeedRaw");
  if (raw !== undefined) {
    const bps = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(bps) || bps <= 0) {
      throw new TopologyError(
        `${where}: LinkSpeedRaw must be a positive number of bits/s, got ${JSON.stringify(raw)}`,
      );
    }
    return bps;
  }
  const speed = data.get("LinkSpeed");
  if (speed !== undefined) {
    const unit = SPEED_UNIT_BPS[(data.get("LinkSpeedUnits") ?? "").trim()];
    const value = Number(speed);
    if (unit === undefined || speed.trim() === "" || !Number.isFinite(value) || value <= 0) {
      throw new TopologyError(
        `${where}: LinkSpeed/LinkSpeedUnits must be a positive number and one of k, M, G, T, got ` +
          `${JSON.stringify(speed)} ${JSON.stringify(data.get("LinkSpeedUnits"))}`,
      );
    }
    return value * unit;
  }
  const label = data.get("LinkLabel");
  return label === undefined ? undefined : parseLinkLabelBps(label);
}

function readCoordinates(data: ReadonlyMap<string, string>, where: string): { lat?: number; lon?: number } {
  const latText = data.get("Latitude");
  const lonText = data.get("Longitude");
  if (latText === undefined && lonText === undefined) return {};
  if (latText === undefined || lonText === undefined) {
    throw new TopologyError(
      `${where}: has ${latText === undefined ? "Longitude" : "Latitude"} but not the other`,
    );
  }
  const lat = Number(latText);
  const lon = Number(lonText);
  if (latText.trim() === "" || !(Math.abs(lat) <= 90)) {
    throw new TopologyError(
      `${where}: Latitude must be a number of degrees in [-90, 90], got ${JSON.stringify(latText)}`,
    );
  }
  if (lonText.trim() === "" || !(Math.abs(lon) <= 180)) {
    throw new TopologyError(
      `${where}: Longitude must be a number of degrees in [-180, 180], got ${JSON.stringify(lonText)}`,
    );
  }
  return { lat, lon };
}

// ---------------------------------------------------------------------------------------------------------------
// LinkLabel: free text to bits/s.

/** SONET OC-n line rate is n x 51.84 Mbit/s; only standard levels are recognised. */
const OC_LEVELS = new Set([1, 3, 12, 24, 48, 192, 768]);
/** SDH STM-n line rate is n x 155.52 Mbit/s (STM-0 = 51.84 Mbit/s). */
const STM_LEVELS = new Set([0, 1, 4, 16, 64, 256]);
/** PDH/T-carrier line rates, bits/s. */
const PDH_BPS: Readonly<Record<string, number>> = {
  T1: 1.544e6,
  DS1: 1.544e6,
  E1: 2.048e6,
  T2: 6.312e6,
  DS2: 6.312e6,
  E2: 8.448e6,
  E3: 34.368e6,
  T3: 44.736e6,
  DS3: 44.736e6,
  E4: 139.264e6,
};
const PREFIX_BPS: Readonly<Record<string, number>> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * One capacity mention: optional count (`4x`, `3 x `, `8*`), then one of the forms below, then optional count
 * (`x2`, `Ex4` for `10GEx4`). Groups: 1 pre-count; 2 OC level, 3 STM level, 4 PDH name, 5 Ethernet Gbit/s,
 * 6 named Ethernet, 7+8 number and prefix with a b/B unit, 9+10 number and bare upper-case prefix; 11 post-count.
 */
const MENTION = new RegExp(
  [
    String.raw`(?<![\w.])(?:(\d+)\s*[x×*]\s*)?(?:`,
    String.raw`[Oo][Cc]-?(\d+)[Cc]?`,
    String.raw`|[Ss][Tt][Mm]-?(\d+)`,
    "|(T[123]|DS-?[123]|E[1-4])",
    String.raw`|(\d+(?:\.\d+)?)\s*G(?:igE|bE|E|e)`,
    "|(GigE|GbE|GE|FE)",
    String.raw`|(\d+(?:\.\d+)?)\s*([kKmMgGtT])[bB](?:its?(?:\/s)?|ps|\/s|s)?`,
    String.raw`|(\d+(?:\.\d+)?)([KMGT])`,
    String.raw`)(?:\s*[x×]\s*(\d+))?(?![A-Za-z0-9])`,
  ].join(""),
  "g",
);
/** Bounds (`< 2.5 Gbps`, `less than 100 Mbps`, `100 Mbps and more`): not one capacity. */
const BOUND =
  /[<>≤≥]|\b(?:less than|more than|fewer than|up to|at least|at most|and (?:more|above|below|less)|or (?:more|less))\b/i;
/** Ranges and alternatives between numbers (`1-20Gbps`, `45/155 Mbps`, `1 to 10 Gbps`): not one capacity. */
const RANGE = /\d\s*(?:[-–/]|\bto\b)\s*\d/;
/** An unknown count such as `N*10Gbit/s`. */
const UNKNOWN_COUNT = /\b[Nn]\s*[x×*]\s*\d/;
/** Mentions of the same capacity written twice (`45 Mbps DS-3`, `OC192/STM64`) must agree within this ratio. */
const AGREEMENT = 1.03;

interface Mention {
  bps: number;
  /** Written as a number with a unit (`155 Mbps`), rather than a named circuit (`OC-3`). */
  numeric: boolean;
}

/**
 * Reads a link capacity in bits/s out of a Topology Zoo `LinkLabel`, or returns undefined when the text does not
 * state exactly one capacity.
 *
 * Understood (case as the Zoo writes it; prefixes are decimal):
 * - numbers with units: `10 Gbps`, `2.5Gbps`, `10Gb/s`, `1 Gbit/s`, `100Mbps`, `64 Kbps`, bare `155M`, `2.5G`;
 *   a `B` is read as bits (`1 GB/s` = 1 Gbit/s), as the Zoo's own `LinkSpeedRaw` does for these labels;
 * - SONET `OC-n`/`OCn`/`OC-nc` = n x 51.84 Mbit/s (n in 1, 3, 12, 24, 48, 192, 768); SDH `STM-n` =
 *   n x 155.52 Mbit/s (n in 0, 1, 4, 16, 64, 256);
 * - PDH `T1`/`DS1` 1.544, `E1` 2.048, `T2`/`DS2` 6.312, `E2` 8.448, `E3` 34.368, `T3`/`DS3`/`DS-3` 44.736,
 *   `E4` 139.264 Mbit/s;
 * - Ethernet `GigE`/`GbE`/`GE` 1 Gbit/s, `FE` 100 Mbit/s, `10GE`/`10 GE`/`1GE` n Gbit/s;
 * - counts: `2x10Gb/s`, `3 x 622Mbps`, `8*GbE`, `STM-64x2`, `10GEx4` multiply; parts joined by ` + ` add up
 *   (`4x1 Gbps + 2x STM-1`).
 *
 * Returns undefined for: text without a capacity (`fiber`, `Green Link`, `Ethernet`, `DWDM`); bounds (`< 2.5 Gbps`,
 * `less than 100 Mbps`, `100 Mbps and more`); ranges and alternatives (`1-20Gbps`, `45/155 Mbps`); an unknown count
 * (`N*10Gbit/s`); and mentions that disagree (`GigE/FE/ATM`, `Managed Fiber (10Gbps, 100Mbps)`). Mentions that
 * agree within 3 % (`45 Mbps DS-3`, `OC192/STM64`) are one capacity; the number written out wins over the named
 * circuit (`155 Mbps OC-3` = 155 Mbit/s), matching the Zoo's own `LinkSpeedRaw` for such labels.
 */
export function parseLinkLabelBps(label: string): number | undefined {
  if (BOUND.test(label) || RANGE.test(label) || UNKNOWN_COUNT.test(label)) return undefined;
  let total = 0;
  for (const part of label.split(/\s\+\s/)) {
    const bps = partCapacityBps(part);
    if (bps === undefined) return undefined;
    total += bps;
  }
  return total;
}

function partCapacityBps(part: string): number | undefined {
  const mentions: Mention[] = [];
  for (const m of part.matchAll(MENTION)) {
    const mention = readMention(m);
    if (mention === undefined) return undefined;
    mentions.push(mention);
  }
  if (mentions.length === 0) return undefined;
  const values = mentions.map((m) => m.bps);
  if (Math.max(...values) > AGREEMENT * Math.min(...values)) return undefined;
  return (mentions.find((m) => m.numeric) ?? mentions[0]!).bps;
}

function readMention(m: RegExpMatchArray): Mention | undefined {
  const count = Number(m[1] ?? 1) * Number(m[11] ?? 1);
  const scaled = (bps: number, numeric: boolean): Mention | undefined =>
    count > 0 && bps > 0 ? { bps: count * bps, numeric } : undefined;
  if (m[2] !== undefined) {
    const n = Number(m[2]);
    return OC_LEVELS.has(n) ? scaled(n * 51.84e6, false) : undefined;
  }
  if (m[3] !== undefined) {
    const n = Number(m[3]);
    return STM_LEVELS.has(n) ? scaled(n === 0 ? 51.84e6 : n * 155.52e6, false) : undefined;
  }
  if (m[4] !== undefined) return scaled(PDH_BPS[m[4].replace("-", "")]!, false);
  if (m[5] !== undefined) return scaled(Number(m[5]) * 1e9, false);
  if (m[6] !== undefined) return scaled(m[6] === "FE" ? 100e6 : 1e9, false);
  if (m[7] !== undefined) return scaled(Number(m[7]) * PREFIX_BPS[m[8]!.toLowerCase()]!, true);
  if (m[9] !== undefined) return scaled(Number(m[9]) * PREFIX_BPS[m[10]!.toLowerCase()]!, true);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// GraphML plumbing.

type KeyDomain = "node" | "edge" | "graph";

interface KeyDecl {
  name: string;
  default: string | undefined;
}

/** `<key>` declarations by domain, then id; `for="all"` keys are entered in every domain. */
function readKeys(root: XmlElement, source: string): Map<KeyDomain, Map<string, KeyDecl>> {
  const keys = new Map<KeyDomain, Map<string, KeyDecl>>([
    ["node", new Map()],
    ["edge", new Map()],
    ["graph", new Map()],
  ]);
  elements(root, "key").forEach((el, i) => {
    const id = attr(el, "id");
    const name = attr(el, "attr.name") ?? id;
    if (id === undefined || name === undefined)
      throw new TopologyError(`${source}: key ${i}: missing id attribute`);
    const forWhat = attr(el, "for") ?? "all";
    const decl: KeyDecl = { name, default: elements(el, "default").map(text)[0] };
    for (const [domain, byId] of keys) if (forWhat === domain || forWhat === "all") byId.set(id, decl);
  });
  return keys;
}

/** An element's `<data>` values by attribute name, with `<key>` defaults filled in. */
function readData(
  el: XmlElement,
  domain: KeyDomain,
  keys: ReadonlyMap<KeyDomain, ReadonlyMap<string, KeyDecl>>,
  where: string,
): Map<string, string> {
  const byId = keys.get(domain)!;
  const out = new Map<string, string>();
  for (const decl of byId.values()) if (decl.default !== undefined) out.set(decl.name, decl.default);
  for (const d of elements(el, "data")) {
    const id = attr(d, "key");
    const decl = id === undefined ? undefined : byId.get(id);
    if (decl === undefined) {
      throw new TopologyError(
        `${where}: <data key=${JSON.stringify(id)}> has no <key for="${domain}"> declaration`,
      );
    }
    const value = text(d);
    if (value !== undefined) out.set(decl.name, value);
  }
  return out;
}
