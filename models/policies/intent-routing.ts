/**
 * Intent routing (design 3, issue 15): every client of the intent mesh (models/services/intent-mesh.ts) gets the
 * instance and path whose *predicted* cost over the next interval is lowest among those meeting its intent
 * (models/services/path-cost.ts), re-selected every interval with hysteresis.
 *
 * Each interval: the predictor (link utilization) observes the last interval and forecasts the next; each client,
 * in config order, costs the candidate paths to every instance of its service (up to `kPaths` shortest paths by
 * delay from the client to the instance, at most `hopLimit` hops, then the instance's attachment link to the
 * service's anycast node) with its own measured traffic taken off its current path (so its load does not make
 * its own path look busy) and put on each candidate; the choice goes through {@link PathHysteresis} and, when it
 * changes, is pinned with `setRoute(client -> anycast node)` (the interval's pins issued before any is awaited, so
 * the emulator puts them in as one batch: awaited one by one they cost 0.9-11.5 s wall at a loaded first step). Its traffic is then added on the chosen path, so the
 * next client sees it (no herding of bulk clients onto one idle path).
 *
 * With `circuits`, a client whose intent bounds bandwidth gets a circuit instead (models/services/circuits.ts: a
 * virtual link reserving (1 + `circuitHeadroom`) x its bound on the chosen path), moved when the choice changes;
 * when the reservation does not fit, its route is pinned as without circuits.
 *
 * Instances come from the mesh (the config), or, when the engine offers a registry (the config's `intents.registry`),
 * from discovery through it (models/services/instance-directory.ts: registration at start, health updates, answers
 * cached with a TTL). With the registry the policy does not read an instance's liveness from its attachment link:
 * a failed instance stays a candidate until its record says `down` and the client's cached answer is refreshed.
 */
import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import { type Circuit, Circuits } from "../services/circuits.ts";
import { InstanceDirectory, type RegistryAccess } from "../services/instance-directory.ts";
import {
  INTENT_MESH_SCHEMA,
  type IntentMesh,
  type MeshClient,
  resolveMesh,
} from "../services/intent-mesh.ts";
import {
  breaksHard,
  type CostedPath,
  cheapest,
  costPaths,
  DEFAULT_REFERENCES,
  DEFAULT_WEIGHTS,
  type LinkView,
  linkViews,
  PathHysteresis,
} from "../services/path-cost.ts";
import { pathLinkKeys, pinNow, samePath } from "./common.ts";
import { COMMON_PARAMS, DEFAULT_K_PATHS, definePolicy, paramDefaults } from "./definition.ts";
import {
  ControlError,
  type ControlPlane,
  InsufficientCapacityError,
  type NodePath,
  type Observation,
  type Policy,
  PoolExhaustedError,
} from "./types.ts";

const weight = (d: number, what: string) =>
  z
    .number()
    .min(0)
    .default(d)
    .meta({ description: `Weight of the ${what} term of the path cost.` });

/** Intent routing's parameters, declared once. */
export const INTENT_ROUTING_PARAMS = z.strictObject({
  mesh: INTENT_MESH_SCHEMA.optional().meta({
    description: "The intent mesh; default: the config's `intents` section.",
  }),
  hopLimit: z
    .int()
    .min(1)
    .default(8)
    .meta({ description: "Candidate paths longer than this (hops) are left out." }),
  margin: z
    .number()
    .min(0)
    .lt(1)
    .default(0.1)
    .meta({ description: "Hysteresis: a new choice must cost this fraction less than the current one." }),
  holdIntervals: z
    .int()
    .min(1)
    .default(2)
    .meta({ description: "Hysteresis: ... for this many consecutive control intervals." }),
  latencyWeight: weight(DEFAULT_WEIGHTS.latency, "latency"),
  bandwidthWeight: weight(DEFAULT_WEIGHTS.bandwidth, "bandwidth"),
  hopsWeight: weight(DEFAULT_WEIGHTS.hops, "hops"),
  securityWeight: weight(DEFAULT_WEIGHTS.security, "insecure-path penalty"),
  costWeight: weight(DEFAULT_WEIGHTS.cost, "egress cost"),
  circuits: z.boolean().default(false).meta({
    description:
      "Clients with a bandwidth bound get a circuit (models/services/circuits.ts: a virtual link with a reserved rate) on their chosen path instead of a pinned route.",
  }),
  circuitHeadroom: z.number().min(0).default(1).meta({
    description:
      "A circuit reserves (1 + this) x the intent's bandwidth bound: room for concurrent requests and TCP start-up.",
  }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(INTENT_ROUTING_PARAMS);

export type IntentRoutingOptions = Partial<
  Omit<z.output<typeof INTENT_ROUTING_PARAMS>, "reroute" | "mesh">
> & {
  mesh: IntentMesh;
  predictor: Predictor;
  /** The run's registry: instances are discovered through it instead of read from the mesh. */
  registry?: RegistryAccess;
};

type Choice = CostedPath & { id: string };

export class IntentRouting implements Policy {
  readonly name = "intent-routing";
  private readonly hysteresis: PathHysteresis;
  private readonly o: Required<Omit<IntentRoutingOptions, "kPaths" | "registry">> & { kPaths: number };
  /** Circuits by client key (`client->anycast`), when `circuits` is on. */
  private readonly circuitOf = new Map<string, Circuit>();
  private circuits: Circuits | undefined;
  private readonly directory: InstanceDirectory | undefined;

  constructor(opts: IntentRoutingOptions) {
    const { registry, ...rest } = opts;
    this.o = { ...DEFAULTS, kPaths: DEFAULT_K_PATHS, ...rest } as typeof this.o;
    this.hysteresis = new PathHysteresis({ margin: this.o.margin, holdIntervals: this.o.holdIntervals });
    this.directory = registry && new InstanceDirectory(registry, opts.mesh);
  }

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const util = Float64Array.from(obs.links, (l) => (l.up ? l.utilization : 0));
    this.o.predictor.observe(obs.timeNs, util);
    const views = linkViews(obs.links, this.o.predictor.forecast(1)[0]);
    if (this.directory) {
      this.directory.observe(obs);
      // Liveness only through the registry: attachment links count as up.
      for (const [k, v] of views)
        if (k.includes("->svc-") && !v.stats.up) views.set(k, { ...v, stats: { ...v.stats, up: true } });
    }
    const rate = new Map(
      obs.traffic.map((t) => [`${t.src}->${t.dst}`, (t.bytes * 8 * 1e9) / obs.intervalNs]),
    );
    const pins: Promise<void>[] = [];
    for (const c of this.o.mesh.clients) {
      const key = `${c.node}->${c.anycast}`;
      const bps = rate.get(key) ?? 0;
      const circuit = this.circuitOf.get(key);
      const current = circuit?.path ?? obs.routes.get(key) ?? ctl.defaultPath(c.node, c.anycast);
      if (current) shift(views, current, -bps);
      const costed = this.candidates(c, views, bps, ctl);
      const chosenId = this.hysteresis.decide(key, costed, cheapest(costed) as Choice | null);
      const chosen = costed.find((x) => x.id === chosenId)?.prediction.path ?? current;
      if (chosen) shift(views, chosen, bps);
      if (!chosen || samePath(chosen, circuit?.path ?? obs.routes.get(key))) continue;
      // Not in force: decide afresh next interval.
      const refused = () => this.hysteresis.clear(key);
      if (!(this.o.circuits && c.intent.minBandwidthBps !== undefined)) {
        // Route changes go out together (awaited below): the emulator puts them in as one batch.
        const pinned = pinNow(ctl, { src: c.node, dst: c.anycast }, chosen);
        if (pinned === false) refused();
        else if (pinned !== true) pins.push(pinned.then((ok) => (ok ? undefined : refused())));
        continue;
      }
      try {
        await this.moveCircuit(ctl, c, chosen);
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        refused();
      }
    }
    await Promise.all(pins);
  }

  /**
   * Moves the client's circuit onto `path` (break before make: the old reservation may share links with the new
   * one): removes the old circuit, creates the new one reserving (1 + headroom) x the intent's bandwidth bound. When
   * the reservation does not fit (or the pool is full), the client's route is pinned to the path instead.
   */
  private async moveCircuit(ctl: ControlPlane, c: MeshClient, path: NodePath): Promise<void> {
    const key = `${c.node}->${c.anycast}`;
    this.circuits ??= new Circuits(ctl);
    const old = this.circuitOf.get(key);
    if (old) {
      this.circuitOf.delete(key);
      await this.circuits.removeCircuit(old.id);
    }
    const rateBps = c.intent.minBandwidthBps! * (1 + this.o.circuitHeadroom);
    try {
      this.circuitOf.set(key, await this.circuits.createCircuit(c.node, c.anycast, path, { rateBps }));
    } catch (e) {
      if (!(e instanceof InsufficientCapacityError || e instanceof PoolExhaustedError)) throw e;
      await ctl.setRoute({ src: c.node, dst: c.anycast }, path);
    }
  }

  /** The client's candidates (to every instance), costed with its own rate on each, hard-breakers left out. */
  private candidates(c: MeshClient, views: Map<string, LinkView>, bps: number, ctl: ControlPlane): Choice[] {
    const paths: NodePath[] = [];
    const instances = this.directory?.instances(c) ?? this.o.mesh.instances.get(c.service) ?? [];
    for (const inst of instances) {
      const attach = views.get(`${inst}->${c.anycast}`);
      if (!attach?.stats.up) continue;
      const toInstance = inst === c.node ? [[c.node]] : ctl.paths(c.node, inst, this.o.kPaths);
      for (const p of toInstance) paths.push([...p, c.anycast]);
    }
    const withOwn = (p: NodePath) => {
      shift(views, p, bps);
      return () => shift(views, p, -bps);
    };
    const out: Choice[] = [];
    for (const p of paths) {
      const undo = withOwn(p);
      const [costed] = costPaths(c.intent, [p], views, {
        hopLimit: this.o.hopLimit + 1,
        weights: {
          latency: this.o.latencyWeight,
          bandwidth: this.o.bandwidthWeight,
          hops: this.o.hopsWeight,
          security: this.o.securityWeight,
          cost: this.o.costWeight,
        },
        references: DEFAULT_REFERENCES,
      });
      undo();
      if (costed && !breaksHard(c.intent, costed)) out.push({ ...costed, id: p.join(",") });
    }
    return out;
  }
}

/** Adds `bps` (negative: removes) to the forecast utilization of the links of `path`, never below 0. */
function shift(views: Map<string, LinkView>, path: NodePath, bps: number): void {
  if (bps === 0) return;
  for (const k of pathLinkKeys(path)) {
    const v = views.get(k);
    if (!v) continue;
    views.set(k, { ...v, utilization: Math.max(0, v.utilization + bps / v.stats.capacityBps) });
  }
}

/** `name: intent-routing` in a config: {@link INTENT_ROUTING_PARAMS}, a predictor over link utilization. */
export const intentRoutingPolicy = definePolicy({
  name: "intent-routing",
  doc: "Per client of the intent mesh, the instance and path of lowest predicted cost that meets its intent (latency, bandwidth, security, egress cost), with hysteresis.",
  params: INTENT_ROUTING_PARAMS,
  forecasts: "link-utilization",
  verbs: ["setRoute", "createVirtualLink", "removeVirtualLink"],
  verbOptions: (p) => (p.circuits ? [{ option: "createVirtualLink.rateBps", param: "circuits" }] : []),
  create: (p, ctx) => {
    if (!p.mesh) throw new Error("intent-routing: no intent mesh (give the config an `intents` section)");
    const { mesh, reroute: _r, ...rest } = p;
    return new IntentRouting({
      ...rest,
      kPaths: p.kPaths ?? ctx.kPaths,
      mesh: resolveMesh(mesh),
      predictor: ctx.predictor,
      ...(ctx.registry ? { registry: ctx.registry } : {}),
    });
  },
});
