/**
 * Nearest instance (a DNS-like baseline for intent routing): every client of the intent mesh
 * (models/services/intent-mesh.ts) sends its requests to the instance of its service nearest by hops over the
 * shortest (least-delay) path, ties to the lower delay and then the instance listed first, and its flows take that
 * path; intents, load and forecasts are ignored. Each interval it re-resolves, as a resolver whose answer expires:
 * an instance whose attachment link or path went down is replaced by the next nearest one. When the engine offers
 * a registry (the config's `intents.registry`), the instances and their liveness come from discovery through it
 * instead (models/services/instance-directory.ts: answers cached with a TTL, as a resolver's), and a failed
 * instance is replaced once its record says `down` and the cached answer was refreshed.
 */
import * as z from "zod";
import { InstanceDirectory, type RegistryAccess } from "../services/instance-directory.ts";
import { INTENT_MESH_SCHEMA, type IntentMesh, resolveMesh } from "../services/intent-mesh.ts";
import { pinNow, samePath } from "./common.ts";
import { COMMON_PARAMS, definePolicy } from "./definition.ts";
import type { ControlPlane, NodePath, Observation, Policy } from "./types.ts";

export const NEAREST_INSTANCE_PARAMS = z.strictObject({
  mesh: INTENT_MESH_SCHEMA.optional().meta({
    description: "The intent mesh; default: the config's `intents` section.",
  }),
  reroute: COMMON_PARAMS.reroute,
});

export class NearestInstance implements Policy {
  readonly name = "nearest-instance";

  private readonly directory: InstanceDirectory | undefined;

  /** @param registry the run's registry: instances are discovered through it instead of read from `mesh`. */
  constructor(
    private readonly mesh: IntentMesh,
    registry?: RegistryAccess,
  ) {
    this.directory = registry && new InstanceDirectory(registry, mesh);
  }

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const up = new Set(obs.links.filter((l) => l.up).map((l) => `${l.src}->${l.dst}`));
    const delay = new Map(obs.links.map((l) => [`${l.src}->${l.dst}`, l.delayNs]));
    this.directory?.observe(obs);
    const pins: Promise<boolean>[] = [];
    for (const c of this.mesh.clients) {
      let best: { path: NodePath; hops: number; delayNs: number } | undefined;
      const instances = this.directory?.instances(c) ?? this.mesh.instances.get(c.service) ?? [];
      for (const inst of instances) {
        if (!this.directory && !up.has(`${inst}->${c.anycast}`)) continue;
        const p = inst === c.node ? [c.node] : ctl.paths(c.node, inst, 1)[0];
        if (!p) continue;
        let d = 0;
        for (let i = 1; i < p.length; i++) d += delay.get(`${p[i - 1]}->${p[i]}`) ?? 0;
        const hops = p.length - 1;
        if (!best || hops < best.hops || (hops === best.hops && d < best.delayNs))
          best = { path: [...p, c.anycast], hops, delayNs: d };
      }
      const key = `${c.node}->${c.anycast}`;
      if (!best || samePath(best.path, obs.routes.get(key))) continue;
      // Issued together, awaited below (the emulator puts them in as one batch); a refusal leaves the route as it is.
      const pinned = pinNow(ctl, { src: c.node, dst: c.anycast }, best.path);
      if (typeof pinned !== "boolean") pins.push(pinned);
    }
    await Promise.all(pins);
  }
}

/** `name: nearest-instance` in a config. */
export const nearestInstancePolicy = definePolicy({
  name: "nearest-instance",
  doc: "DNS-like baseline: each intent client to the instance nearest by hops, over the shortest path; intents ignored.",
  params: NEAREST_INSTANCE_PARAMS,
  forecasts: null,
  verbs: ["setRoute"],
  create: (p, ctx) => {
    if (!p.mesh) throw new Error("nearest-instance: no intent mesh (give the config an `intents` section)");
    return new NearestInstance(resolveMesh(p.mesh), ctx.registry);
  },
});
