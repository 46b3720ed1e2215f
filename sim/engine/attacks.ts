/**
 * The attack workload in the simulator (issue 16): each scenario attack's connection attempts
 * (models/security/attacks.ts, drawn from `security/attack/<i>` of the run's streams) become simulator events at
 * their times; an attempt whose source the firewall already refuses is counted as blocked (it never reaches a
 * sidecar), any other feeds the sidecars' intrusion detector and prevention (models/security/ids.ts,
 * prevention.ts), which blocks a detected source through the policy's control plane (`setFirewall`, recorded in
 * actions.csv like the policy's own actions; it takes effect after the verb's setup latency). The attacker and
 * the scanner hold no certificate: their attempts carry the identity `unauthenticated`, and the block names it
 * (a deny of the node's unauthenticated workloads), so the node's benign flows, which ride its sidecar's
 * authenticated tunnels and carry no such identity, keep flowing; the firewall's refused flows are counted as
 * benign flows blocked (every flow of the traffic matrices and applications is benign). A detection also tells the policy, when it takes security risk
 * (`setRiskyNodes`, rl-mesh), which nodes are flagged.
 *
 * Benign flows are not connection events here: in the mesh an application's flows ride the sidecars' long-lived
 * mutual-TLS tunnels, and the emulator's detector, too, hears only refusals and tripwires
 * (emulate/sidecar/ids.ts).
 */

import type { Policy } from "../../models/policies/types.ts";
import type { FirewallRule } from "../../models/policies/verb-args.ts";
import { type AttackSpec, attackEvents, attackStreamName } from "../../models/security/attacks.ts";
import { identityOf } from "../../models/security/ids.ts";
import { type BlockRecord, IntrusionPrevention, riskyNodes } from "../../models/security/prevention.ts";
import { RandomStreams } from "../kernel/rng.ts";
import type { Simulator } from "../kernel/simulator.ts";

/** One blocked source (prevention's record, its `blockedNs` when the deny rule was in place) and its outcome. */
export interface IdsBlock extends BlockRecord {
  /** blockedNs - firstSeenNs. */
  timeToBlockNs: number;
  /** Whether the source is one of the scenario's attack sources. */
  attacker: boolean;
  /** The emulator's: timeToBlockNs in wall ms (the run's clock runs timeCompression times wall time). */
  timeToBlockWallMs?: number;
}

/** What the intrusion detection did in a run (summary.json's `ids` of each policy). */
export interface IdsRecords {
  /** The scenario's attacks: kind and source. */
  attacks: { kind: AttackSpec["kind"]; node: string; attempts: number }[];
  /** Attempts the detector saw, and those refused by a deny rule before reaching a sidecar. */
  attemptsSeen: number;
  attemptsBlocked: number;
  blocks: IdsBlock[];
  /** Attack sources never blocked. */
  missed: string[];
  /** Blocked sources that attacked nobody (false positives). */
  falsePositives: string[];
  /**
   * Flows (all benign) the firewall refused, and their bytes (the emulator sums the refused flows' sizes from its
   * flow ledger; null where a run cannot know them).
   */
  benignFlowsBlocked: number;
  benignBytesBlocked: number | null;
}

/** The firewall side the attack workload needs of the simulator's control plane. */
export interface AttackControl {
  setFirewall(rule: FirewallRule): void | Promise<void>;
  firewallAllows(
    src: string,
    dst: string,
    fields: { port?: number; protocol?: string; identity?: string },
  ): boolean;
  readonly stats: { firewall: { refusedFlows: number; refusedBytes: number } };
}

/** The attacks of one simulator run: schedules their attempts; `records()` after the run. */
export class SimAttacks {
  private readonly prevention: IntrusionPrevention;
  private readonly counts: number[];
  private seen = 0;
  private blocked = 0;

  /**
   * @param firewall the policy's control plane as recorded (actions.csv), for the deny rules.
   * @param ctl the simulator's control plane, for what the firewall refuses and its totals.
   * @param setFirewallNs the setFirewall verb's setup latency, ns (a deny rule is in place that long after).
   */
  constructor(
    sim: Simulator,
    private readonly attacks: readonly AttackSpec[],
    streams: { seed: number; run: number; nodes: readonly string[] },
    firewall: { setFirewall(rule: FirewallRule): void | Promise<void> },
    private readonly ctl: AttackControl,
    private readonly policy: Policy,
    private readonly setFirewallNs: number,
  ) {
    this.prevention = new IntrusionPrevention(firewall, () => sim.now);
    const rs = new RandomStreams(streams.seed, streams.run);
    this.counts = attacks.map((a, i) => {
      const events = attackEvents(a, streams.nodes, rs.stream(attackStreamName(i)));
      for (const ev of events) {
        sim.scheduleAt(ev.timeNs, () => {
          const fields = { port: ev.port, protocol: "tcp", identity: identityOf(ev) };
          if (!this.ctl.firewallAllows(ev.src, ev.dst, fields)) {
            this.blocked++;
            return;
          }
          this.seen++;
          void this.prevention.observe(ev);
          // The detection (and its deny rule) happened synchronously within observe.
          if (this.prevention.detector.isDetected(ev.src, identityOf(ev))) this.flag();
        });
      }
      return events.length;
    });
  }

  private flag(): void {
    const p = this.policy as Policy & { setRiskyNodes?: (nodes: Iterable<string>) => void };
    p.setRiskyNodes?.(riskyNodes(this.prevention.detector.detections));
  }

  /** What the detector and the firewall did over the run. */
  records(): IdsRecords {
    const sources = new Set(this.attacks.map((a) => a.node));
    // The rule is in place the verb's setup latency after the detection (the block's own clock is read after an
    // await, when the simulator may have moved on).
    const blocks = this.prevention.blocks.map((b) => {
      const blockedNs = b.detectedNs + this.setFirewallNs;
      return { ...b, blockedNs, timeToBlockNs: blockedNs - b.firstSeenNs, attacker: sources.has(b.src) };
    });
    const blockedSrc = new Set(blocks.map((b) => b.src));
    const fw = this.ctl.stats.firewall;
    return {
      attacks: this.attacks.map((a, i) => ({ kind: a.kind, node: a.node, attempts: this.counts[i]! })),
      attemptsSeen: this.seen,
      attemptsBlocked: this.blocked,
      blocks,
      missed: [...sources].filter((s) => !blockedSrc.has(s)).sort(),
      falsePositives: blocks.filter((b) => !b.attacker).map((b) => b.src),
      benignFlowsBlocked: fw.refusedFlows,
      benignBytesBlocked: fw.refusedBytes,
    };
  }
}
