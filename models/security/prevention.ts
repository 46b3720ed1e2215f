/**
 * Intrusion prevention: a detection blocks its source workload through the control plane's `setFirewall`: a deny
 * rule with the source node as `src` and the workload's `identity` (its SPIFFE ID, or `unauthenticated` for the
 * node's workloads without a certificate), every destination, TCP (the verb's default protocol), the same call in
 * both engines. The node's other workloads (the applications riding its sidecar's authenticated tunnels) keep
 * flowing: a rule naming an identity matches only flows of that identity. Each
 * block is recorded with the detection's and the block's times, so a run reports time to block per source, and
 * the detections are the security-risk input of the RL mesh's reward ({@link riskyNodes}).
 */
import type { FirewallRule } from "../policies/verb-args.ts";
import {
  type ConnectionEvent,
  type Detection,
  type DetectionKind,
  type IdsOptions,
  IntrusionDetector,
  identityOf,
} from "./ids.ts";

/** The part of a ControlPlane prevention needs. */
export interface FirewallControl {
  setFirewall(rule: FirewallRule): void | Promise<void>;
}

export interface BlockRecord {
  /** The source node and the blocked workload's identity there. */
  src: string;
  identity: string;
  kind: DetectionKind;
  reason: string;
  /** Time of the first event of the source seen, of the detection, and when its rule was in place, ns. */
  firstSeenNs: number;
  detectedNs: number;
  blockedNs: number;
}

export class IntrusionPrevention {
  readonly detector: IntrusionDetector;
  readonly blocks: BlockRecord[] = [];
  private readonly firstSeen = new Map<string, number>();

  /** `clockNs`: the engine's time now (the block's time is read after `setFirewall` returned). */
  constructor(
    private readonly firewall: FirewallControl,
    private readonly clockNs: () => number,
    opts: IdsOptions = {},
  ) {
    this.detector = new IntrusionDetector(opts);
  }

  /** Feeds an event; on a detection, blocks the source and returns the detection. */
  async observe(ev: ConnectionEvent): Promise<Detection | null> {
    const key = `${ev.src} ${identityOf(ev)}`;
    this.firstSeen.set(key, Math.min(this.firstSeen.get(key) ?? ev.timeNs, ev.timeNs));
    const d = this.detector.observe(ev);
    if (!d) return null;
    await this.firewall.setFirewall({ action: "deny", src: d.src, identity: d.identity });
    this.blocks.push({
      src: d.src,
      identity: d.identity,
      kind: d.kind,
      reason: d.reason,
      firstSeenNs: this.firstSeen.get(key)!,
      detectedNs: d.timeNs,
      blockedNs: this.clockNs(),
    });
    return d;
  }
}

/** Nodes detected as attack sources: a path through one of them carries security risk (the RL reward's term). */
export function riskyNodes(detections: readonly Detection[]): Set<string> {
  return new Set(detections.map((d) => d.src));
}
