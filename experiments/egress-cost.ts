/**
 * Egress cost of a run: the bytes carried over links with an egress cost (gateways between substrates,
 * `topology.gateways[].egressCostPerGB`) times that cost, from the link samples both engines record (the simulator
 * its flows' bits, the emulator its egress counters: frames, headers and the reverse direction's ACKs included,
 * scaled to simulated bytes), so summary.json and sim-vs-emulation show the same metric from each.
 */
import type { LinkSamples } from "../sim/metrics/link-sampler.ts";
import type { Topology } from "../sim/substrate/topology.ts";

/** Egress over the costed links, per direction of each. */
export interface EgressCost {
  /** Bytes over links with an egress cost (simulated bytes). */
  bytes: number;
  /** Sum over those links of bytes / 1e9 x egressCostPerGB (the config's currency units). */
  cost: number;
  /** Per directed costed link with traffic: its id, bytes and cost, in link order. */
  links: { id: string; bytes: number; cost: number }[];
}

/**
 * The egress cost of `samples` over the intervals ending by `untilNs` (default all); null when no link of
 * `topology` has an egress cost.
 */
export function egressCost(
  topology: Topology,
  samples: LinkSamples,
  untilNs = Number.POSITIVE_INFINITY,
): EgressCost | null {
  const costed = topology.links.flatMap((l, i) => (l.egressCostPerGB > 0 ? [i] : []));
  if (costed.length === 0) return null;
  const n = samples.linkCount;
  const bits = new Float64Array(n);
  for (let i = 0; i < samples.endNs.length; i++) {
    if (!(samples.endNs[i]! <= untilNs)) continue;
    for (const l of costed) bits[l] = bits[l]! + samples.bits[i * n + l]!;
  }
  return costOf(
    costed.map((l) => ({
      id: topology.links[l]!.id,
      bytes: bits[l]! / 8,
      perGB: topology.links[l]!.egressCostPerGB,
    })),
  );
}

/**
 * The egress cost of links.csv rows (`link`, `bits`, `interval_end_ns`) over the intervals ending by `untilNs`,
 * given each costed link's cost per GB by id; null when `perGB` is empty.
 */
export function egressCostOfRows(
  rows: readonly Record<string, string>[],
  perGB: ReadonlyMap<string, number>,
  untilNs: number,
): EgressCost | null {
  if (perGB.size === 0) return null;
  const bytes = new Map<string, number>();
  for (const r of rows) {
    const id = r.link ?? "";
    if (!perGB.has(id) || !(Number(r.interval_end_ns) <= untilNs)) continue;
    bytes.set(id, (bytes.get(id) ?? 0) + Number(r.bits) / 8);
  }
  return costOf([...perGB].map(([id, c]) => ({ id, bytes: bytes.get(id) ?? 0, perGB: c })));
}

function costOf(links: readonly { id: string; bytes: number; perGB: number }[]): EgressCost {
  const out: EgressCost = { bytes: 0, cost: 0, links: [] };
  for (const l of links) {
    if (l.bytes <= 0) continue;
    const cost = (l.bytes / 1e9) * l.perGB;
    out.bytes += l.bytes;
    out.cost += cost;
    out.links.push({ id: l.id, bytes: l.bytes, cost });
  }
  return out;
}

/** The costed links' egress cost per GB, by directed link id (empty: the topology has none). */
export function egressCostPerGB(topology: Topology): Map<string, number> {
  return new Map(topology.links.flatMap((l) => (l.egressCostPerGB > 0 ? [[l.id, l.egressCostPerGB]] : [])));
}
