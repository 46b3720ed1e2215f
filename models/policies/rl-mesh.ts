/**
 * RL mesh (design S4, the sidecar's learned path choice): every control interval, for the heaviest active pairs,
 * probe candidate paths (direct shortest, k-shortest alternatives, one-hop relays as RON builds them; the probe
 * budget caps probes per interval, their bytes count as overhead), feed the results to a contextual bandit
 * (LinUCB with a shared model plus epsilon-greedy, models/rl/path-bandit.ts; context and reward in
 * models/rl/features.ts) and pin each pair to the path it chooses (setRoute; a relay is pinned as the route through
 * the relay node, which is the sidecar relay's path without its processing cost).
 *
 * Learning (online fine-tuning, `learn`): the context a pair's path was chosen with is rewarded with the next probe
 * of that path. Failover: when the probe of a pair's current path comes back lost, or a link of it goes down
 * (onLinkDown), the pair moves at once to the best candidate that is up, without waiting for exploration.
 * Switching: a pair moves only when the chosen path's score beats its current path's by `margin` (hysteresis), at
 * most `maxMoves` pairs per interval; a moved pair's last-interval rate is taken off the available bandwidth of
 * its new path's links for the pairs decided after it (so pairs do not all herd onto one idle path).
 *
 * Model: `model` names a file (models/rl/model-file.ts) trained by `topocast train-rl` in the simulator; the same
 * file loads in the emulator. Without it the agent starts from scratch (A = I, b = 0).
 */
import * as z from "zod";
import type { RandomStream } from "../../sim/kernel/rng.ts";
import { RandomStreams } from "../../sim/kernel/rng.ts";
import type { Predictor } from "../predictors/predictor.ts";
import { contextOf, DEFAULT_REWARD, DIMENSION, type RewardSpec, rewardOf } from "../rl/features.ts";
import { meshParams, probeBudgetParam } from "../rl/mesh-params.ts";
import { banditOf, loadModel } from "../rl/model-file.ts";
import { type BanditExploration, PathBandit } from "../rl/path-bandit.ts";
import { type MeshView, PathMesh, type PathMeshOptions } from "../rl/path-mesh.ts";
import { pathLinkKeys } from "./common.ts";
import { COMMON_PARAMS, definePolicy, type PolicyFactoryContext } from "./definition.ts";
import type { ControlPlane, NodePath, Observation, Policy } from "./types.ts";

/** The RL mesh's parameters, declared once (the config's `params`). */
export const RL_MESH_PARAMS = z.strictObject({
  model: z.string().optional().meta({
    description:
      "Model file to load (topocast train-rl output; relative to the config's directory in a config); absent: start untrained.",
    "x-unit": "path",
  }),
  learn: z.boolean().default(true).meta({ description: "Online fine-tuning: update the model from probes." }),
  epsilon: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .meta({ description: "Exploration probability (default: the model file's, else 0.05)." }),
  alpha: z
    .number()
    .min(0)
    .optional()
    .meta({ description: "LinUCB confidence width (default: the model file's, else 0.5)." }),
  probeBudget: probeBudgetParam(200),
  ...meshParams({ relays: 2, maxMoves: 16 }),
  impairedPairs: z.boolean().default(true).meta({
    description:
      "Also manage, after the maxPairs heaviest, every other active pair whose current path is impaired (a link down or losing packets, or its last probe lost).",
  }),
  margin: z
    .number()
    .min(0)
    .default(0.05)
    .meta({ description: "Score by which a new path must beat the current one (hysteresis)." }),
  insecureLinks: z
    .array(z.string())
    .default([])
    .meta({ description: 'Directed links ("a->b") that are not secure; the reward penalises their share.' }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

/** Fresh-model exploration defaults. */
export const DEFAULT_EXPLORATION: BanditExploration = { alpha: 0.5, epsilon: 0.05 };

export interface RlMeshOptions extends PathMeshOptions {
  bandit: PathBandit;
  reward: RewardSpec;
  exploration: BanditExploration;
  learn: boolean;
  rng: RandomStream;
  margin: number;
  predictor?: Predictor;
}

export class RlMesh implements Policy {
  readonly name = "rl-mesh";
  readonly mesh: PathMesh;
  /** Per pair: the path chosen and the context it was chosen with, waiting for that path's next probe. */
  private readonly pending = new Map<string, { path: NodePath; x: Float64Array }>();
  /** Rewards earned per decision interval (for training curves). */
  readonly rewards: number[] = [];
  /** Nodes the intrusion detector flagged ({@link setRiskyNodes}). */
  private risky: ReadonlySet<string> = new Set();

  constructor(readonly opts: RlMeshOptions) {
    this.mesh = new PathMesh(opts);
  }

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const view = this.mesh.observe(obs, this.opts.predictor);
    this.learnFrom(view);
    const bandit = this.opts.bandit;
    await this.mesh.place(view, ctl, (pair, all, current, failover, bps) => {
      const candidates = this.avoidingRisk(all);
      const xs = candidates.map((p) =>
        contextOf(view.pathView(p, this.insecureOn(p), { current, bps }), this.opts.reward),
      );
      const explore = failover ? { alpha: 0, epsilon: 0 } : this.opts.exploration;
      const usable = candidates.map((p) => view.usable(p));
      const i = bandit.select(
        xs.filter((_, j) => usable[j]),
        explore,
        failover ? undefined : this.opts.rng,
      );
      const chosen = candidates.filter((_, j) => usable[j])[i];
      if (!chosen) return null;
      const xi = xs[candidates.indexOf(chosen)]!;
      const ci = current ? candidates.findIndex((p) => p.join() === current.join()) : -1;
      const keep =
        !failover &&
        ci >= 0 &&
        usable[ci] &&
        bandit.score(xi, explore.alpha) < bandit.score(xs[ci]!, explore.alpha) + this.opts.margin;
      const path = keep ? candidates[ci]! : chosen;
      this.pending.set(pair, { path, x: keep ? xs[ci]! : xi });
      return path;
    });
  }

  async onLinkDown(linkId: string, obs: Observation, ctl: ControlPlane): Promise<void> {
    await this.mesh.failover(linkId, obs, ctl, (_pair, candidates, view) =>
      this.greedy(this.avoidingRisk(candidates), view),
    );
  }

  /**
   * The candidates that relay through no flagged node ({@link setRiskyNodes}; the pair's own ends do not count),
   * or all of them when every one does (zero trust: a node the detector flagged relays nothing it can avoid).
   */
  avoidingRisk(candidates: readonly NodePath[]): readonly NodePath[] {
    if (this.risky.size === 0) return candidates;
    const safe = candidates.filter((p) => !p.slice(1, -1).some((n) => this.risky.has(n)));
    return safe.length > 0 ? safe : candidates;
  }

  /**
   * Rewards each pending choice with the newest probe of its path and the path's free bandwidth and loss now
   * (online learning).
   */
  private learnFrom(view: MeshView): void {
    const obs = view.obs;
    let sum = 0;
    let n = 0;
    for (const [pair, p] of this.pending) {
      const probe = obs.probes.findLast((r) => r.path.join() === p.path.join());
      if (!probe) continue;
      const insecure = this.insecureOn(p.path);
      const r = rewardOf(
        probe,
        this.mesh.bottleneck(p.path, obs),
        1 - this.mesh.insecureShare(p.path, insecure),
        this.opts.reward,
        view.pathView(p.path, insecure),
      );
      if (this.opts.learn) this.opts.bandit.update(p.x, r);
      sum += r;
      n++;
      this.pending.delete(pair);
    }
    if (n > 0) this.rewards.push(sum / n);
  }

  /**
   * Security risk from intrusion detection (models/security/prevention.ts `riskyNodes`; in a simulator run with
   * `attacks`, sim/engine/attacks.ts calls it on every detection): candidates relaying through these nodes are left
   * out while another candidate exists ({@link avoidingRisk}), and links into or out of them count as insecure,
   * with `insecureLinks`, in the context's secure share and in the reward's security term (-wSecurity x insecure
   * share). None by default, so a run without detections is unchanged.
   */
  setRiskyNodes(nodes: Iterable<string>): void {
    this.risky = new Set(nodes);
  }

  /** The insecure share of a path: its links listed in `insecureLinks` or touching a risky node, [0, 1]. */
  securityRisk(p: NodePath): number {
    return this.mesh.insecureShare(p, this.insecureOn(p));
  }

  private insecureOn(p: NodePath): readonly string[] {
    if (this.risky.size === 0) return this.opts.insecureLinks;
    const touching = pathLinkKeys(p).filter((k) => {
      const [a, b] = k.split("->");
      return this.risky.has(a!) || this.risky.has(b!);
    });
    return [...this.opts.insecureLinks, ...touching];
  }

  private greedy(candidates: readonly NodePath[], view: MeshView): NodePath | null {
    const usable = candidates.filter((p) => view.usable(p));
    if (usable.length === 0) return null;
    const xs = usable.map((p) => contextOf(view.pathView(p, this.insecureOn(p)), this.opts.reward));
    return usable[this.opts.bandit.select(xs, { alpha: 0, epsilon: 0 })]!;
  }
}

/** The agent, reward and exploration a policy entry starts with: from `model` when given, else fresh. */
export function agentOf(p: z.output<typeof RL_MESH_PARAMS>): {
  bandit: PathBandit;
  reward: RewardSpec;
  exploration: BanditExploration;
} {
  const m = p.model === undefined ? null : loadModel(p.model);
  const base = m?.exploration ?? DEFAULT_EXPLORATION;
  return {
    bandit: m ? banditOf(m) : new PathBandit(DIMENSION),
    reward: m?.reward ?? DEFAULT_REWARD,
    exploration: { alpha: p.alpha ?? base.alpha, epsilon: p.epsilon ?? base.epsilon },
  };
}

/** The options of an RL mesh for one run from its params, the run's context and its agent. */
export function rlMeshOptions(
  p: z.output<typeof RL_MESH_PARAMS>,
  ctx: PolicyFactoryContext<"link-utilization">,
  agent: ReturnType<typeof agentOf>,
): RlMeshOptions {
  return {
    ...agent,
    learn: p.learn,
    rng: new RandomStreams(ctx.seed, ctx.run).stream("policy/rl-mesh"),
    margin: p.margin,
    predictor: ctx.predictor,
    probeBudget: p.probeBudget,
    maxPairs: p.maxPairs,
    maxMoves: p.maxMoves,
    candidates: { kPaths: p.kPaths ?? ctx.kPaths, relays: p.relays },
    insecureLinks: p.insecureLinks,
    impairedPairs: p.impairedPairs,
  };
}

/** The RL mesh in a config: `name: rl-mesh`, {@link RL_MESH_PARAMS}, a predictor over link utilization. */
export const rlMeshPolicy = definePolicy({
  name: "rl-mesh",
  doc: "Sidecar mesh with learned path choice: probe candidate paths (k shortest, one-hop relays), LinUCB bandit picks and pins each active pair's path, fails over on lost probes.",
  params: RL_MESH_PARAMS,
  forecasts: "link-utilization",
  verbs: ["setRoute", "probe"],
  create: (p, ctx) => new RlMesh(rlMeshOptions(p, ctx, agentOf(p))),
});
