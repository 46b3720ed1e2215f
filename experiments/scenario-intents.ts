/**
 * The config's `intents` section (models/services/intent-mesh.ts) in a scenario: the substrate grows one anycast
 * node per service with a one-way attachment link from each instance (capacity ATTACHMENT_CAPACITY_BPS, no delay,
 * secure, no egress cost; one-way, so no path can cross an anycast node as a zero-delay shortcut), links named in `intents.links` get their security and egress cost, and every client
 * adds a pair demand (client -> its service's anycast node) of `requestsPerSecond` Poisson requests of
 * `requestSize` bytes each to every demand interval (and every training interval, so predictors learn it). The
 * traffic matrix is built on the substrate without the anycast nodes and its demands moved to the grown
 * substrate's node indices, so the background traffic is the same with or without intents.
 */
import {
  ATTACHMENT_CAPACITY_BPS,
  anycastNode,
  type IntentMesh,
  type IntentMeshConfig,
  resolveMesh,
} from "../models/services/intent-mesh.ts";
import type { DemandInterval } from "../sim/engine/types.ts";
import { type LinkProps, type Topology, TopologyBuilder } from "../sim/substrate/topology.ts";
import { at, type Locate } from "./scenario-locate.ts";

/** The grown substrate and the resolved mesh. */
export interface IntentScenario {
  topology: Topology;
  mesh: IntentMesh;
}

/** Grows `base` by the mesh's anycast nodes and link attributes (see the module doc); errors at `intents`. */
export function buildIntentTopology(cfg: IntentMeshConfig, base: Topology, error: Locate): IntentScenario {
  const ids = new Set(base.nodes.map((n) => n.id));
  const mesh = at(error, ["intents"], () => resolveMesh(cfg, ids));
  const overrides = new Map<string, Partial<LinkProps>>();
  cfg.links.forEach((l, i) => {
    const [a, b] = l.between;
    if (!base.hasNode(a) || !base.hasNode(b) || base.linksBetween(base.node(a), base.node(b)).length === 0) {
      throw error(
        ["intents", "links", i, "between"],
        `no link between ${JSON.stringify(a)} and ${JSON.stringify(b)}`,
      );
    }
    const props: Partial<LinkProps> = {
      ...(l.secure !== undefined ? { secure: l.secure } : {}),
      ...(l.egressCostPerGB !== undefined ? { egressCostPerGB: l.egressCostPerGB } : {}),
    };
    overrides.set(`${a}->${b}`, props);
    overrides.set(`${b}->${a}`, props);
  });
  const builder = new TopologyBuilder(base.name, base.source);
  for (const n of base.nodes) {
    builder.addNode({
      id: n.id,
      label: n.label,
      ...(n.lat !== undefined ? { lat: n.lat } : {}),
      ...(n.lon !== undefined ? { lon: n.lon } : {}),
    });
  }
  // A bidirectional link is added once, with its forward direction's properties (both directions of every
  // bundled source are alike), so the reverse pairing (failures' bothDirections, the emulator's veth pairs) holds.
  for (const l of base.links) {
    if (l.reverse >= 0 && l.reverse < l.index) continue;
    const src = base.nodes[l.src]!.id;
    const dst = base.nodes[l.dst]!.id;
    const { capacityBps, delayNs, lossRate, egressCostPerGB, secure, mtuBytes } = l;
    builder.addLink(
      src,
      dst,
      {
        capacityBps,
        delayNs,
        lossRate,
        egressCostPerGB,
        secure,
        mtuBytes,
        ...overrides.get(`${src}->${dst}`),
      },
      l.reverse >= 0,
    );
  }
  const attach = { capacityBps: ATTACHMENT_CAPACITY_BPS, delayNs: 0, secure: true, egressCostPerGB: 0 };
  for (const [service, instances] of [...mesh.instances].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const svc = anycastNode(service);
    if (ids.has(svc))
      throw error(["intents", "services"], `anycast node "${svc}" is already a topology node`);
    builder.addNode({ id: svc });
    for (const inst of instances) builder.addLink(inst, svc, attach, false);
  }
  return { topology: at(error, ["intents"], () => builder.build()), mesh };
}

/**
 * The intervals on the grown substrate: the TM's demands moved from `base`'s node indices to `grown`'s, plus each
 * client's request demand (fixed-size flows).
 */
export function withIntentDemand(
  intervals: readonly DemandInterval[],
  base: Topology,
  grown: Topology,
  mesh: IntentMesh,
): DemandInterval[] {
  const index = base.nodes.map((n) => grown.node(n.id));
  const clients = mesh.clients.map((c) => ({
    src: grown.node(c.node),
    dst: grown.node(c.anycast),
    rateBps: c.requestsPerSecond * c.requestBytes * 8,
    sizeBytes: c.requestBytes,
  }));
  return intervals.map((iv) => ({
    startNs: iv.startNs,
    endNs: iv.endNs,
    demands: [...iv.demands.map((d) => ({ ...d, src: index[d.src]!, dst: index[d.dst]! })), ...clients].sort(
      (a, b) => a.src - b.src || a.dst - b.dst,
    ),
  }));
}
