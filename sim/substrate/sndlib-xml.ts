/**
 * Importer for SNDlib network instances (native XML format).
 *
 * Source format: S. Orlowski, R. Wessäly, M. Pióro, A. Tomaszewski, "SNDlib 1.0 - Survivable Network Design
 * Library", Networks 55(3):276-286, 2010 (sndlib.zib.de). SNDlib data is under the ZIB Academic License: topocast
 * does not ship it; point these readers at a local copy.
 *
 * ```xml
 * <network xmlns="http://sndlib.zib.de/network" version="1.0">
 *  <meta><unit>MBITPERSEC</unit>...</meta>
 *  <networkStructure>
 *   <nodes coordinatesType="geographical|pixel">
 *    <node id="ATLAM5"><coordinates><x>-84.3833</x><y>33.75</y></coordinates></node> ...
 *   </nodes>
 *   <links>
 *    <link id="L1"><source>ATLAM5</source><target>ATLAng</target>
 *     <preInstalledModule><capacity>9920.0</capacity><cost>0.0</cost></preInstalledModule>
 *     <additionalModules><addModule><capacity>40000.0</capacity><cost>133.0</cost></addModule></additionalModules>
 *    </link> ...
 *   </links>
 *  </networkStructure>
 *  <demands><demand id="ATLAM5_ATLAng"><source>ATLAM5</source><target>ATLAng</target>
 *   <demandValue>3580.0</demandValue></demand> ...</demands>
 * </network>
 * ```
 *
 * Capacities and demand values are in the unit of `<meta><unit>`, a bit rate written as SNDlib does
 * (`MBITPERSEC`; also `BITPERSEC`, `BITSPERSEC`, `KBITPERSEC`, `GBITPERSEC`, `TBITPERSEC`, decimal prefixes, any
 * case): values are converted to Mbit/s. Files without a unit (most instances, whose units are abstract) are read
 * as Mbit/s.
 */

import {
  type LinkDefaults,
  type LinkProps,
  type Topology,
  TopologyBuilder,
  TopologyError,
} from "./topology.ts";
import { attr, childText, elements, fileStem, parseXml, readXmlFile, type XmlElement } from "./xml.ts";

/** Options of the SNDlib network readers. */
export interface SndlibReadOptions {
  /** Link properties for whatever the file leaves out (capacity of links without a pre-installed module, ...). */
  defaults?: Partial<LinkDefaults>;
  /** Topology name; defaults to the file name in `source` without extension (`abilene`). */
  name?: string;
  /**
   * Receives one sentence per thing read differently from the file (a dropped self-loop), starting with the file
   * and element, for the caller to show (the CLI prints them on stderr). Default: dropped silently.
   */
  onWarning?: (message: string) => void;
  /**
   * Read each `<link>` as one directed link from source to target instead of an undirected (bidirectional) one.
   * For instances that list every link in both directions (giul39, janos-us, janos-us-ca, sun).
   * @default false
   */
  directedLinks?: boolean;
}

/** One static demand of an SNDlib file: a directed rate from `src` to `dst`. */
export interface SndlibDemand {
  src: string;
  dst: string;
  /** Demand value in Mbit/s (converted from the file's `<meta><unit>`, or its unit-less value). */
  mbps: number;
}

/** Bits/s per unit of SNDlib capacity and demand values. */
const MBIT = 1e6;
/** Bits/s per `<meta><unit>` (upper case): the bit rates SNDlib files are written in. */
const UNIT_BPS: Readonly<Record<string, number>> = {
  BITPERSEC: 1,
  BITSPERSEC: 1,
  KBITPERSEC: 1e3,
  MBITPERSEC: 1e6,
  GBITPERSEC: 1e9,
  TBITPERSEC: 1e12,
};
const SNDLIB_ARRAY_TAGS = ["node", "link", "demand", "addModule"];

/**
 * Reads an SNDlib network XML file into a {@link Topology}; see {@link parseSndlibNetwork} for the mapping.
 * Throws {@link TopologyError} naming `path` when the file cannot be read or is not a valid SNDlib network.
 */
export function readSndlibNetwork(path: string, opts: SndlibReadOptions = {}): Topology {
  return parseSndlibNetwork(readXmlFile(path), path, opts);
}

/**
 * Parses SNDlib network XML into a {@link Topology}. `source` (usually the file path) starts every error.
 *
 * - Node id = `<node id>`. With `coordinatesType="geographical"`, `<x>` is the longitude and `<y>` the latitude
 *   (decimal degrees), so the builder derives delays from great-circle distance. Pixel (or undeclared)
 *   coordinates are drawing positions, not places: such nodes get no lat/lon and links take the default delay.
 * - Each `<link>` is undirected and becomes a bidirectional link (unless `opts.directedLinks`); links repeated
 *   between the same nodes stay parallel links.
 * - Capacity = `<preInstalledModule><capacity>` in the file's unit (Mbit/s without one), converted to bits/s. `<additionalModules>` are
 *   capacity-planning options, not installed capacity, and are ignored; a link without a pre-installed module
 *   takes the defaults' `capacityBps`.
 * - `<demands>` are ignored here; see {@link parseSndlibDemands}.
 *
 * - A self-loop (a link from a node to itself) is dropped, with a warning to `opts.onWarning`.
 *
 * Throws {@link TopologyError} for malformed XML, a missing `<network>`/`<networkStructure>`, an unknown
 * `<meta><unit>`, a node without id or a duplicate id, bad geographical coordinates, a link without source or
 * target or to an unknown node, and a non-positive capacity; messages read like
 * `abilene.xml: link "L3" (source "ATLAM5", target "XX"): unknown target node "XX"`.
 */
export function parseSndlibNetwork(xmlText: string, source: string, opts: SndlibReadOptions = {}): Topology {
  const { network, bpsPerUnit, unit } = readNetworkElement(xmlText, source);
  const structure = elements(network, "networkStructure")[0];
  if (!structure) throw new TopologyError(`${source}: no <networkStructure> element`);
  const builder = new TopologyBuilder(opts.name ?? fileStem(source), source, opts.defaults);

  for (const nodesEl of elements(structure, "nodes")) {
    const geographical = attr(nodesEl, "coordinatesType") === "geographical";
    elements(nodesEl, "node").forEach((el, i) => {
      const id = attr(el, "id");
      const where = id === undefined ? `${source}: node ${i}` : `${source}: node ${JSON.stringify(id)}`;
      if (id === undefined || id === "") throw new TopologyError(`${where}: missing id attribute`);
      if (builder.hasNode(id)) throw new TopologyError(`${where}: duplicate node id`);
      builder.addNode({ id, ...(geographical ? readGeoCoordinates(el, where) : {}) });
    });
  }

  for (const linksEl of elements(structure, "links")) {
    elements(linksEl, "link").forEach((el, i) => {
      const id = attr(el, "id");
      const src = childText(el, "source");
      const dst = childText(el, "target");
      const name = id === undefined ? `link ${i}` : `link ${JSON.stringify(id)}`;
      const where = `${source}: ${name} (source ${JSON.stringify(src)}, target ${JSON.stringify(dst)})`;
      if (src === undefined || dst === undefined)
        throw new TopologyError(`${where}: missing source or target`);
      if (!builder.hasNode(src))
        throw new TopologyError(`${where}: unknown source node ${JSON.stringify(src)}`);
      if (!builder.hasNode(dst))
        throw new TopologyError(`${where}: unknown target node ${JSON.stringify(dst)}`);
      if (src === dst) {
        opts.onWarning?.(`${where}: self-loop at node ${JSON.stringify(src)} dropped`);
        return;
      }
      const props: Partial<LinkProps> = {};
      const module = elements(el, "preInstalledModule")[0];
      if (module !== undefined) {
        const capacity = childText(module, "capacity");
        const value = Number(capacity);
        if (capacity === undefined || capacity === "" || !Number.isFinite(value) || value <= 0) {
          throw new TopologyError(
            `${where}: preInstalledModule capacity must be a positive number of ${unit}, got ${JSON.stringify(capacity)}`,
          );
        }
        props.capacityBps = value * bpsPerUnit;
      }
      builder.addLink(src, dst, props, !opts.directedLinks);
    });
  }
  return builder.build();
}

/**
 * Reads the static demands of an SNDlib XML file (a network instance or one matrix of a dynamic demand series):
 * `<demands><demand id><source>s</source><target>t</target><demandValue>v</demandValue></demand>...</demands>`.
 *
 * Returns the demands in file order as directed `{src, dst, mbps}` (Mbit/s, >= 0); an empty or absent
 * `<demands>` gives `[]`. When the file also lists nodes, every demand must name two of them.
 * Throws {@link TopologyError} naming `source` and the demand for malformed XML, an unknown unit, a missing
 * source/target, an unknown node, or a demand value that is not a non-negative number.
 */
export function parseSndlibDemands(xmlText: string, source: string): SndlibDemand[] {
  const { network, bpsPerUnit, unit } = readNetworkElement(xmlText, source);
  const nodeIds = new Set<string>();
  for (const structure of elements(network, "networkStructure")) {
    for (const nodesEl of elements(structure, "nodes")) {
      for (const el of elements(nodesEl, "node")) {
        const id = attr(el, "id");
        if (id !== undefined) nodeIds.add(id);
      }
    }
  }
  const out: SndlibDemand[] = [];
  for (const demandsEl of elements(network, "demands")) {
    elements(demandsEl, "demand").forEach((el, i) => {
      const id = attr(el, "id");
      const src = childText(el, "source");
      const dst = childText(el, "target");
      const value = childText(el, "demandValue");
      const where = `${source}: demand ${id === undefined ? i : JSON.stringify(id)}`;
      if (src === undefined || src === "" || dst === undefined || dst === "") {
        throw new TopologyError(`${where}: missing source or target`);
      }
      for (const n of [src, dst]) {
        if (nodeIds.size > 0 && !nodeIds.has(n))
          throw new TopologyError(`${where}: unknown node ${JSON.stringify(n)}`);
      }
      const mbps = Number(value);
      if (value === undefined || value === "" || !Number.isFinite(mbps) || mbps < 0) {
        throw new TopologyError(
          `${where}: demandValue must be a non-negative number of ${unit}, got ${JSON.stringify(value)}`,
        );
      }
      out.push({ src, dst, mbps: sndlibMbps(mbps, bpsPerUnit) });
    });
  }
  return out;
}

function readGeoCoordinates(el: XmlElement, where: string): { lat: number; lon: number } {
  const coordinates = elements(el, "coordinates")[0];
  const x = coordinates === undefined ? undefined : childText(coordinates, "x");
  const y = coordinates === undefined ? undefined : childText(coordinates, "y");
  const lon = Number(x);
  const lat = Number(y);
  if (x === undefined || x === "" || !(Math.abs(lon) <= 180)) {
    throw new TopologyError(
      `${where}: coordinates x must be a longitude in [-180, 180], got ${JSON.stringify(x)}`,
    );
  }
  if (y === undefined || y === "" || !(Math.abs(lat) <= 90)) {
    throw new TopologyError(
      `${where}: coordinates y must be a latitude in [-90, 90], got ${JSON.stringify(y)}`,
    );
  }
  return { lat, lon };
}

/**
 * Bits/s per unit of an SNDlib `<meta><unit>` (1e6, Mbit/s, for none or an empty one).
 * @throws TopologyError naming `source` for a unit that is not a bit rate.
 */
export function sndlibBpsPerUnit(unit: string | undefined, source: string): number {
  if (unit === undefined || unit.trim() === "") return MBIT;
  const factor = UNIT_BPS[unit.trim().toUpperCase()];
  if (factor === undefined) {
    throw new TopologyError(
      `${source}: meta unit: expected a bit rate (${Object.keys(UNIT_BPS).join(", ")}), got ${JSON.stringify(unit)}`,
    );
  }
  return factor;
}

/** `value` in a unit of `bpsPerUnit` bits/s, in Mbit/s (exactly `value` for Mbit/s). */
export function sndlibMbps(value: number, bpsPerUnit: number): number {
  return bpsPerUnit === MBIT ? value : (value * bpsPerUnit) / MBIT;
}

/** The `<network>` root element and bits/s per unit of its values (from `<meta><unit>`; Mbit/s without one). */
function readNetworkElement(
  xmlText: string,
  source: string,
): { network: XmlElement; bpsPerUnit: number; unit: string } {
  const network = elements(parseXml(xmlText, source, SNDLIB_ARRAY_TAGS), "network")[0];
  if (!network) throw new TopologyError(`${source}: not an SNDlib network (no <network> root element)`);
  let bpsPerUnit = MBIT;
  let unitName = "Mbit/s";
  for (const meta of elements(network, "meta")) {
    const unit = childText(meta, "unit");
    if (unit !== undefined && unit.trim() !== "") {
      bpsPerUnit = sndlibBpsPerUnit(unit, source);
      unitName = bpsPerUnit === MBIT ? "Mbit/s" : unit.trim();
    }
  }
  return { network, bpsPerUnit, unit: unitName };
}
