/**
 * `topocast train-rl`: trains the RL mesh's path agent (models/rl/path-bandit.ts) in the simulator and writes its
 * model file (models/rl/model-file.ts) plus a training curve.
 *
 * An episode is one simulator run of the config's scenario (its topology, traffic matrices or gravity model,
 * failures, control settings) with the `rl-mesh` policy learning online, replication `run` = the episode number,
 * so every episode draws other flows from the same traffic. The agent is shared across episodes (one model keeps
 * learning); exploration is the policy's, or `epsilon` when given. The policy's parameters come from the config's
 * first `rl-mesh` entry (its defaults when there is none); a `model` there is the starting point (fine-tuning),
 * unless `fresh` (then the agent starts untrained, so a model file can be rebuilt from the config alone).
 *
 * Outputs: the model file at `out`, and `<out without .json>-curve.csv` with one row per episode: the mean reward
 * of the agent's decisions (models/rl/features.ts), their count, the model's total updates, and the run's mean
 * FCT and mean slowdown (so the curve shows what the reward buys).
 */
import { writeFileSync } from "node:fs";
import type { z } from "zod";
import type { PolicyDefinition } from "../models/policies/definition.ts";
import { agentOf, RL_MESH_PARAMS, RlMesh, rlMeshOptions, rlMeshPolicy } from "../models/policies/rl-mesh.ts";
import { modelOf, saveModel } from "../models/rl/model-file.ts";
import { simEngine } from "../sim/engine/run.ts";
import type { LoadedConfig } from "./config/load.ts";
import { formatCsvNumber } from "./csv.ts";
import { buildScenario } from "./scenario.ts";
import { enginePolicy } from "./scenario-policies.ts";

export interface TrainOptions {
  /** Model file to write. */
  out: string;
  /** Episodes (>= 1). */
  episodes: number;
  /** Exploration probability during training (default: the policy's). */
  epsilon?: number;
  /** Ignore the entry's `model` and start untrained. */
  fresh?: boolean;
  /** One line per episode. */
  log?: (line: string) => void;
}

/** One row of the training curve. */
export interface EpisodeRow {
  episode: number;
  meanReward: number | null;
  decisions: number;
  updates: number;
  meanFctNs: number | null;
  meanSlowdown: number | null;
}

export interface TrainOutcome {
  model: string;
  curve: string;
  rows: EpisodeRow[];
}

/** The curve file next to a model file. */
export function curvePath(out: string): string {
  return `${out.replace(/\.json$/i, "")}-curve.csv`;
}

/** The config's first rl-mesh entry with its config path, or the defaults. */
function rlMeshEntry(loaded: LoadedConfig) {
  const i = loaded.config.policies.findIndex((p) => p.name === rlMeshPolicy.name);
  const entry = i >= 0 ? loaded.config.policies[i]! : { name: rlMeshPolicy.name, params: {} };
  const params = RL_MESH_PARAMS.parse(entry.params ?? {});
  return { entry: { ...entry, params }, path: ["policies", Math.max(0, i)] as PropertyKey[], params };
}

/** Trains the agent over `episodes` simulator runs and writes the model and its curve. */
export async function trainRl(loaded: LoadedConfig, o: TrainOptions): Promise<TrainOutcome> {
  const { entry, path, params } = rlMeshEntry(loaded);
  const p = params as z.output<typeof RL_MESH_PARAMS>;
  const agent = agentOf(o.fresh ? { ...p, model: undefined } : p);
  if (o.epsilon !== undefined) agent.exploration = { ...agent.exploration, epsilon: o.epsilon };
  let current: RlMesh | null = null;
  const training: PolicyDefinition = {
    ...rlMeshPolicy,
    create: (p, ctx) => {
      const opts = rlMeshOptions(p as z.output<typeof RL_MESH_PARAMS>, ctx as never, agent);
      current = new RlMesh({ ...opts, learn: true });
      return current;
    },
  };
  const engine = simEngine();
  const rows: EpisodeRow[] = [];
  for (let e = 0; e < o.episodes; e++) {
    const { scenario } = buildScenario(loaded, e);
    const policy = enginePolicy(training, entry as never, path, loaded.error);
    const records = await engine.run(scenario, { ...policy, label: `rl-mesh-train-${e}` });
    const rewards = (current as RlMesh | null)?.rewards ?? [];
    const row: EpisodeRow = {
      episode: e,
      meanReward: rewards.length ? rewards.reduce((a, b) => a + b, 0) / rewards.length : null,
      decisions: rewards.length,
      updates: agent.bandit.updates,
      meanFctNs: records.flowStats.fctNs?.mean ?? null,
      meanSlowdown: records.flowStats.slowdown?.mean ?? null,
    };
    rows.push(row);
    o.log?.(
      `episode ${e}: mean reward ${row.meanReward?.toFixed(4) ?? "-"} over ${row.decisions} intervals, mean FCT ${row.meanFctNs === null ? "-" : (row.meanFctNs / 1e6).toFixed(1)} ms, ${row.updates} updates`,
    );
  }
  const curve = curvePath(o.out);
  saveModel(
    o.out,
    modelOf(agent.bandit, agent.reward, agent.exploration, {
      episodes: o.episodes,
      config: loaded.config.name,
      configHash: loaded.hash,
      seed: loaded.config.seed,
      engine: "sim",
      curve,
    }),
  );
  writeFileSync(curve, curveCsv(rows));
  return { model: o.out, curve, rows };
}

/** The training curve as CSV. */
export function curveCsv(rows: readonly EpisodeRow[]): string {
  const num = (v: number | null, scale = 1) => (v === null ? "" : formatCsvNumber(v / scale));
  const lines = ["episode,mean_reward,decisions,updates,mean_fct_ms,mean_slowdown"];
  for (const r of rows) {
    lines.push(
      [r.episode, num(r.meanReward), r.decisions, r.updates, num(r.meanFctNs, 1e6), num(r.meanSlowdown)].join(
        ",",
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}
