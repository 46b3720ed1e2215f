/**
 * The path agent's model file: one versioned JSON document, written by training in one engine and loaded by the
 * policy in either (train in one engine, deploy in the other: the same file).
 *
 * Shape (version 2; version 1 had no `flowTime` feature and no `reward.flowBytes`, and is refused):
 * ```
 * { "format": "topocast-rl-path-model", "version": 2, "algorithm": "linucb",
 *   "features": ["bias", "rtt", ...],               // models/rl/features.ts FEATURES, in order
 *   "reward": { "rttRefNs": 5e7, "wBandwidth": 0, "wSecurity": 1, "lossPenalty": 10, "flowBytes": 1e6 },
 *   "exploration": { "alpha": 0.5, "epsilon": 0.05 }, // defaults for the policy (its params may override)
 *   "state": { "dimension": 9, "aInv": [81 numbers], "b": [9 numbers], "updates": 1234 },
 *   "training": { "episodes": 20, "source": "..." }   // optional, free-form provenance
 * }
 * ```
 * Numbers round-trip exactly through JSON (shortest round-trip formatting of doubles), so a loaded model decides
 * exactly as the saved one did. A malformed file is refused with {@link ModelFileError} naming the file, the field
 * path and the value (`model.json: state.aInv[3]: expected a finite number, got "x"`).
 */
import { existsSync, readFileSync } from "node:fs";
import * as z from "zod";
import { writeFileAtomic } from "../../sim/io/atomic-write.ts";
import { DIMENSION, FEATURES, type RewardSpec } from "./features.ts";
import { type BanditExploration, PathBandit } from "./path-bandit.ts";

export const MODEL_FORMAT = "topocast-rl-path-model";
export const MODEL_VERSION = 2;

/** A model file that cannot be read, parsed or does not have the expected shape. */
export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFileError";
  }
}

const finite = z.number().refine(Number.isFinite, { message: "expected a finite number" });

const ModelSchema = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  algorithm: z.literal("linucb"),
  features: z.array(z.string()),
  reward: z.strictObject({
    rttRefNs: finite.refine((v) => v > 0, { message: "expected > 0" }),
    wBandwidth: finite.refine((v) => v >= 0, { message: "expected >= 0" }),
    wSecurity: finite.refine((v) => v >= 0, { message: "expected >= 0" }),
    lossPenalty: finite.refine((v) => v > 0, { message: "expected > 0" }),
    flowBytes: finite.refine((v) => v > 0, { message: "expected > 0" }),
  }),
  exploration: z.strictObject({
    alpha: finite.refine((v) => v >= 0, { message: "expected >= 0" }),
    epsilon: finite.refine((v) => v >= 0 && v <= 1, { message: "expected in [0, 1]" }),
  }),
  state: z.strictObject({
    dimension: z.int(),
    aInv: z.array(finite),
    b: z.array(finite),
    updates: z.int().min(0),
  }),
  training: z.record(z.string(), z.unknown()).optional(),
});

/** A model file's content. */
export type PathModel = z.output<typeof ModelSchema>;

/** A model document from a bandit and its settings. */
export function modelOf(
  bandit: PathBandit,
  reward: RewardSpec,
  exploration: BanditExploration,
  training?: Record<string, unknown>,
): PathModel {
  const m: PathModel = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    algorithm: "linucb",
    features: [...FEATURES],
    reward: { ...reward },
    exploration: { ...exploration },
    state: bandit.state(),
  };
  if (training) m.training = training;
  return m;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : `${s ? "." : ""}${String(p)}`;
  return s || "(root)";
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v = doc;
  for (const p of path)
    v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** Checks a parsed document; `where` names its source in errors. @throws ModelFileError */
export function parseModel(doc: unknown, where: string): PathModel {
  const r = ModelSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const got = valueAt(doc, issue.path);
    const shown = got === undefined ? "nothing" : JSON.stringify(got)?.slice(0, 60);
    throw new ModelFileError(`${where}: ${fieldPath(issue.path)}: ${issue.message}, got ${shown}`);
  }
  const m = r.data;
  if (m.features.length !== DIMENSION || m.features.some((f, i) => f !== FEATURES[i])) {
    throw new ModelFileError(
      `${where}: features: expected ${JSON.stringify(FEATURES)} (this version's context), got ${JSON.stringify(m.features)}`,
    );
  }
  const d = m.state.dimension;
  const sizes: [string, number, number][] = [
    ["state.dimension", d, DIMENSION],
    ["state.aInv (length)", m.state.aInv.length, DIMENSION * DIMENSION],
    ["state.b (length)", m.state.b.length, DIMENSION],
  ];
  for (const [field, got, want] of sizes) {
    if (got !== want) throw new ModelFileError(`${where}: ${field}: expected ${want}, got ${got}`);
  }
  return m;
}

/** The bandit a model holds. */
export function banditOf(m: PathModel): PathBandit {
  return new PathBandit(m.state.dimension, 1, m.state);
}

/** Reads and checks a model file. @throws ModelFileError naming the file (absent, not JSON, bad field). */
export function loadModel(path: string): PathModel {
  if (!existsSync(path)) throw new ModelFileError(`${path}: no such model file`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ModelFileError(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseModel(doc, path);
}

/** Writes a model file atomically (pretty JSON with a trailing newline). */
export function saveModel(path: string, m: PathModel): void {
  writeFileAtomic(path, `${JSON.stringify(m, null, 2)}\n`);
}
