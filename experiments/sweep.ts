/**
 * Sweeps: the grid of a config's `sweep:` section x seeds x replications, expanded into an ordered list of runs
 * with stable ids; shards of that list for clusters; the index file that records them.
 *
 * Order: grid points in the cartesian order of the keys as written (the last key varies fastest), then seeds,
 * then run numbers. Shard i of N (0-based) takes the runs whose index is i mod N, so the N shards partition the
 * runs exactly, and each shard gets a mix of cheap and expensive points.
 *
 * A run's id is readable where it can be (`targetMlu=0.6-s1-r0`) and falls back to a hash of its parameters
 * (`h3f2a9c1d-s1-r0`) when values are not short scalars or the short names collide. Ids depend only on the
 * parameters, seed and run, never on the position in the grid, so `--resume` stays right when a grid grows.
 */
import { createHash } from "node:crypto";
import { ConfigError, canonicalJson, type LoadedConfig, parseConfig } from "./config/load.ts";
import { formatPath } from "./config/paths.ts";

export interface SweepRun {
  index: number;
  id: string;
  /** Grid key -> value of this run. */
  params: Record<string, unknown>;
  seed: number;
  run: number;
  /** `--set` arguments that give this grid point (values as JSON, which is YAML). */
  set: string[];
}

export interface Shard {
  index: number;
  count: number;
}

export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepError";
  }
}

/** Parses `i/N` (0 <= i < N). */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    throw new SweepError(`--shard: expected i/N with 0 <= i < N (e.g. 3/16), got ${JSON.stringify(s)}`);
  }
  return { index, count };
}

/** The runs of shard `s` (all runs without a shard). */
export function shardRuns(runs: readonly SweepRun[], s: Shard | undefined): SweepRun[] {
  return s === undefined ? [...runs] : runs.filter((r) => r.index % s.count === s.index);
}

function cartesian(
  keys: readonly string[],
  grid: Readonly<Record<string, readonly unknown[]>>,
): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const k of keys) {
    const next: Record<string, unknown>[] = [];
    for (const partial of out) for (const v of grid[k]!) next.push({ ...partial, [k]: v });
    out = next;
  }
  return out;
}

function shortHash(v: unknown): string {
  return createHash("sha256").update(canonicalJson(v)).digest("hex").slice(0, 8);
}

function slug(params: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (!(typeof v === "number" || typeof v === "string" || typeof v === "boolean")) return undefined;
    const name = k
      .split(/[.[\]]/)
      .filter(Boolean)
      .pop()!;
    const text = `${name}=${String(v)}`;
    if (!/^[A-Za-z0-9._=+-]+$/.test(text)) return undefined;
    parts.push(text);
  }
  const s = parts.join(",");
  return s.length <= 80 ? s : undefined;
}

/**
 * Expands the sweep of a loaded config. Every grid point is validated as a config (with the caller's `set`
 * overrides first), so a bad value fails before anything runs.
 * @throws ConfigError naming `sweep.grid[key][i]` and the problem.
 */
export function expandSweep(
  loaded: LoadedConfig,
  set: readonly string[] = [],
  seedOverride?: number,
): SweepRun[] {
  const c = loaded.config;
  const grid = c.sweep?.grid ?? {};
  const keys = Object.keys(grid);
  const seeds = seedOverride !== undefined ? [seedOverride] : (c.sweep?.seeds ?? [c.seed]);
  const runs = c.sweep?.runs ?? c.runs;
  const points = cartesian(keys, grid);

  // Validate each grid value once (per key), reporting it at its place in sweep.grid.
  for (const k of keys) {
    grid[k]!.forEach((v, i) => {
      try {
        parseConfig(loaded.text, loaded.file, loaded.baseDir, { set: [...set, `${k}=${JSON.stringify(v)}`] });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        throw loaded.error(
          ["sweep", "grid", k, i],
          `${JSON.stringify(v)} is not a valid ${k}: ${e.issues.map((x) => `${formatPath(x.path)}: ${x.message}`).join("; ")}`,
        );
      }
    });
  }

  validateSampling(loaded);

  const slugs = points.map(slug);
  const readable = slugs.every((s) => s !== undefined) && new Set(slugs).size === slugs.length;
  const out: SweepRun[] = [];
  points.forEach((params, p) => {
    const name = keys.length === 0 ? "" : readable ? `${slugs[p]!}-` : `h${shortHash(params)}-`;
    const setArgs = keys.map((k) => `${k}=${JSON.stringify(params[k])}`);
    for (const seed of seeds) {
      for (let run = 0; run < runs; run++) {
        out.push({ index: out.length, id: `${name}s${seed}-r${run}`, params, seed, run, set: setArgs });
      }
    }
  });
  return out;
}

/**
 * Checks `sweep.samples` (grid keys) and `sweep.references` (policy labels) of a loaded config.
 * @throws ConfigError naming `sweep.samples[i]` or `sweep.references[i]` and what is allowed.
 */
export function validateSampling(loaded: LoadedConfig): void {
  const c = loaded.config;
  const keys = Object.keys(c.sweep?.grid ?? {});
  (c.sweep?.samples ?? []).forEach((k, i) => {
    if (!keys.includes(k)) {
      throw loaded.error(
        ["sweep", "samples", i],
        `${JSON.stringify(k)} is not a key of sweep.grid (keys: ${keys.map((x) => JSON.stringify(x)).join(", ") || "none"})`,
      );
    }
  });
  const labels = c.policies.map((p) => String(p.label ?? p.name));
  (c.sweep?.references ?? []).forEach((r, i) => {
    if (!labels.includes(r)) {
      throw loaded.error(
        ["sweep", "references", i],
        `${JSON.stringify(r)} is not a policy label (labels: ${labels.map((x) => JSON.stringify(x)).join(", ")})`,
      );
    }
  });
}

/** Grid keys pooled as samples, and the reference policies of paired comparisons, of a loaded config. */
export function sampling(loaded: LoadedConfig): { samples: string[]; references: string[] } {
  const c = loaded.config;
  const first = c.policies[0]!;
  const references: string[] = c.sweep?.references ?? [String(first.label ?? first.name)];
  return { samples: [...(c.sweep?.samples ?? [])], references: [...references] };
}

/** One run in a sweep index file. */
export interface IndexEntry {
  index: number;
  id: string;
  params: Record<string, unknown>;
  seed: number;
  run: number;
  /** Relative to the sweep directory. */
  dir: string;
  status: "pending" | "done" | "failed";
  /** Last lines of the run's stderr when it failed. */
  error?: string;
}

/** `index.json` (or `index.shard-<i>-of-<N>.json`) of a sweep directory. */
export interface SweepIndex {
  experiment: string;
  configFile: string;
  configHash: string;
  /** `--set` overrides applied to every run. */
  set: string[];
  grid: Record<string, unknown[]>;
  seeds: number[];
  runs: number;
  /** Grid keys pooled as samples in the report (absent in indexes written before issue 18: none). */
  samples?: string[];
  /** Reference policies of the report's paired comparisons (absent before issue 18: the first policy). */
  references?: string[];
  /** Runs in the whole sweep (all shards). */
  totalRuns: number;
  shard: string | null;
  entries: IndexEntry[];
}

export function indexFileName(s: Shard | undefined): string {
  return s === undefined ? "index.json" : `index.shard-${s.index}-of-${s.count}.json`;
}
