/**
 * The ControlPlane an emulated policy acts through: the emulation's, with rates scaled from simulated to emulated
 * bits/s (see emulate/scaling.ts).
 */
import type {
  ControlPlane,
  NodePath,
  Pair,
  QosSpec,
  VirtualLinkInfo,
  VirtualLinkOptions,
} from "../models/policies/types.ts";
import type { EmulationControlPlane } from "./control-plane.ts";

/** Rates in a policy's calls are in simulated bits/s: scale them into the emulated network's. */
export class ScaledControlPlane implements ControlPlane {
  constructor(
    private readonly ctl: EmulationControlPlane,
    private readonly rateScale: number,
    /** Active flows that started on a virtual link, by its id. */
    private readonly activeFlows: (vl: string) => number,
  ) {}
  createVirtualLink(src: string, dst: string, opts: VirtualLinkOptions = {}): Promise<string> {
    const o = { ...opts };
    if (o.rateBps !== undefined) o.rateBps *= this.rateScale;
    return this.ctl.createVirtualLink(src, dst, o);
  }
  removeVirtualLink(id: string): Promise<void> {
    return this.ctl.removeVirtualLink(id);
  }
  setRoute(pair: Pair, path: NodePath | null): Promise<void> {
    return this.ctl.setRoute(pair, path);
  }
  mirror(pair: Pair, path: NodePath | null): Promise<void> {
    return this.ctl.mirror(pair, path);
  }
  setQos(pair: Pair, qos: QosSpec | null): Promise<void> {
    return this.ctl.setQos(
      pair,
      qos && qos.rateBps !== undefined ? { ...qos, rateBps: qos.rateBps * this.rateScale } : qos,
    );
  }
  setFirewall(rule: Parameters<ControlPlane["setFirewall"]>[0]): Promise<void> {
    return this.ctl.setFirewall(rule);
  }
  probe(path: NodePath): Promise<void> {
    return this.ctl.probe(path);
  }
  paths(src: string, dst: string, k: number): NodePath[] {
    return this.ctl.paths(src, dst, k);
  }
  defaultPath(src: string, dst: string): NodePath | null {
    return this.ctl.defaultPath(src, dst);
  }
  /** Virtual links in simulated units, with the pair's active flows. */
  virtualLinks(): VirtualLinkInfo[] {
    return this.ctl.virtualLinks().map((v) => ({
      ...v,
      rateBps: v.rateBps === null ? null : v.rateBps / this.rateScale,
      activeFlows: this.activeFlows(v.id),
    }));
  }
}
