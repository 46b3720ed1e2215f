/**
 * Test fixture: the production verb table extended by two verbs, each one table entry, and the simulator's
 * ControlPlane extended to implement them, on the diamond topology of test/sim/control/fixture.ts.
 *
 * - `setMtu(link, mtuBytes)`: the example. A packet size, so it carries no scaling unit (MTUs do not
 *   scale with rates); its own setup-latency key `mtu`.
 * - `shape(link, { rateBps, burstBytes, latencyNs } | null)`: a token-bucket shaper (tc tbf's parameters), so that
 *   one verb carries each unit the scaling derives from the table.
 */

import { ControlError } from "../../../models/policies/types.ts";
import { type UndoContext, verb } from "../../../models/policies/verb-table.ts";
import { VERBS } from "../../../models/policies/verbs.ts";
import { SimControlPlane } from "../../../sim/control/control-plane.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../../sim/substrate/routing.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";
import { diamondTopology } from "../../sim/control/fixture.ts";

export interface Shaper {
  rateBps: number;
  burstBytes: number;
  latencyNs: number;
}

/** The previous value of a per-link setting from the journal (`fallback` when it holds none). */
function previousForLink(ctx: UndoContext, verbName: string, link: string, fallback: unknown) {
  const prev = ctx.earlier.findLast((e) => e.verb === verbName && e.args[0] === link);
  return [{ verb: verbName, args: [link, prev ? prev.args[1] : fallback] }];
}

/** The production verbs plus setMtu and shape. */
export const EXTENDED = {
  ...VERBS,
  setMtu: verb<(link: string, mtuBytes: number) => void>()({
    kind: "action",
    args: [{ name: "link" }, { name: "mtuBytes" }],
    latency: { key: "mtu", default: "20ms", doc: "Time until a link's new MTU applies." },
    undo: ([link], _r, ctx) => previousForLink(ctx, "setMtu", link, 1500),
    doc: "Sets a link's MTU, bytes (a packet size: not scaled).",
  }),
  shape: verb<(link: string, shaper: Shaper | null) => void>()({
    kind: "action",
    args: [
      { name: "link" },
      { name: "shaper", unit: { rateBps: "bps", burstBytes: "bytes", latencyNs: "ns" } },
    ],
    latency: { key: "shaper", default: "5ms", doc: "Time until a shaper applies." },
    undo: ([link], _r, ctx) => previousForLink(ctx, "shape", link, null),
    doc: "Shapes a link with a token bucket (rate bits/s, burst bytes, queueing latency ns); null removes it.",
  }),
} as const;

export type Extended = typeof EXTENDED;

/** The simulator's ControlPlane with the two extra verbs (kept as state, read back by mtu() and shaper()). */
export class ExtendedSimControlPlane extends SimControlPlane {
  private readonly mtus = new Map<string, number>();
  private readonly shapers = new Map<string, Shaper>();
  private readonly linkIds: ReadonlySet<string>;

  constructor(...args: ConstructorParameters<typeof SimControlPlane>) {
    super(...args);
    this.linkIds = new Set(args[1].topology.links.map((l) => l.id));
  }

  setMtu(link: string, mtuBytes: number): void {
    this.knownLink(link);
    if (!(mtuBytes >= 68)) throw new ControlError(`setMtu: ${link}: MTU ${mtuBytes} is below 68 bytes`);
    this.mtus.set(link, mtuBytes);
  }

  shape(link: string, shaper: Shaper | null): void {
    this.knownLink(link);
    if (shaper === null) this.shapers.delete(link);
    else this.shapers.set(link, { ...shaper });
  }

  mtu(link: string): number {
    return this.mtus.get(link) ?? 1500;
  }

  shaper(link: string): Shaper | null {
    return this.shapers.get(link) ?? null;
  }

  private knownLink(link: string): void {
    if (!this.linkIds.has(link)) throw new ControlError(`unknown link "${link}"`);
  }
}

/** A simulator with the extended ControlPlane on the diamond topology (shortest-delay default routes). */
export function extendedSetup() {
  const topo = diamondTopology();
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const ctl = new ExtendedSimControlPlane(
    sim,
    net,
    { route: (s, d) => table.path(s, d) ?? undefined },
    trace,
  );
  return { sim, net, ctl, topo };
}
