/**
 * A degraded link in the emulator (the config's `state: degraded`, issue 16), as commands: the directed link's new
 * capacity, delay and loss, in emulated units, on a running substrate.
 *
 * - capacity: htb's link class and default leaf at the sending end change rate (`tc class change`, see
 *   {@link htbLinkRate}); where the relay paces the wire instead (no htb, no tbf), its rate; a run with tbf refuses
 *   a capacity change (tbf would have to be replaced, dropping its backlog); a run without rate limits ignores it
 *   (the plan lists rates as not emulated);
 * - delay and loss: the userspace wire's relay in the receiving namespace reconfigures the wire from a control
 *   datagram (emulate/wire-relay.ts {@link wireControlMessage}); no netem on this kernel. A plain veth link (built
 *   without delay or loss, hence without a wire) cannot take a delay or loss other than its own, and says so.
 *
 * Pure: the commands are built here; the control plane (emulate/control-plane.ts) sends the htb changes down the
 * sending namespace's tc channel and runs the wire's control datagram as a process (the relay listens on the far
 * namespace's loopback, which only a process in that namespace reaches).
 */
import type { LinkQuality } from "../models/control/driver.ts";
import { type Cmd, htbLinkRate } from "./commands.ts";
import { EmulationError } from "./errors.ts";
import type { Plan } from "./plan.ts";
import { wireControlArgv } from "./wire-relay.ts";

/** What gives a directed link a quality: tc commands for one namespace (a batch), and the wire's control argv. */
export interface LinkQualityCommands {
  /** htb class changes at the sending end (`tc class change`, without `-n`), or null when the rate is not htb's. */
  tc: { ns: string; cmds: Cmd[] } | null;
  /** `ip netns exec <far> bash -c ...` sending the relay its control datagram, or null for a link with no wire. */
  wire: string[] | null;
}

/**
 * The commands that give directed link `linkId` the quality `q` (emulated units: bits/s, ns, a fraction).
 * @throws EmulationError for an unknown link, a capacity change under tbf, or a delay or loss on a link with no
 *   wire, naming the link, the value and what would allow it.
 */
export function linkQualityCommands(plan: Plan, linkId: string, q: LinkQuality): LinkQualityCommands {
  const lp = plan.links.find((l) => l.ids[0] === linkId || l.ids[1] === linkId);
  if (!lp) throw new EmulationError(`run ${plan.runId}: unknown link "${linkId}"`);
  const forward = lp.ids[0] === linkId;
  const [near, far] = forward ? [lp.a, lp.b] : [lp.b, lp.a];
  const ns = (node: number) => plan.nodes[node]!.netns;
  const out: LinkQualityCommands = { tc: null, wire: null };
  const rate = plan.mechanisms.rate;
  if (rate === "htb" && near.rateBps !== null) {
    out.tc = { ns: ns(near.node), cmds: htbLinkRate(near.dev, q.capacityBps, lp.mtu) };
  } else if (rate === "tbf" && q.capacityBps !== near.rateBps) {
    throw new EmulationError(
      `link ${linkId}: a degraded capacity (${q.capacityBps} bit/s emulated) needs htb or the wire relay's pacing; this run limits rates with tbf`,
    );
  }
  if (lp.wire) {
    const w = {
      vni: lp.wire.vni,
      delayNs: Math.round(q.delayNs),
      lossRate: q.loss,
      rateBps: rate === "relay" ? q.capacityBps : null,
      queueBytes: 1000 * (lp.mtu + 64),
    };
    out.wire = wireControlArgv(ns(far.node), plan.settings.relayPort, w);
  } else if (q.loss > 0 || Math.round(q.delayNs) !== far.inDelayNs) {
    throw new EmulationError(
      `link ${linkId}: a degraded delay (${Math.round(q.delayNs)} ns emulated) or loss (${q.loss}) needs the userspace wire, and this link is a plain veth (built without delay or loss, or with emulation.delay "ignore" or netem); give the link a delay so that it gets a wire`,
    );
  }
  return out;
}
