/**
 * `topocast sweep`: runs a sweep's runs (or one shard of them) in parallel child processes, each a plain
 * `topocast run` of the same config with the run's `--set`, `--seed`, `--run` and `--out`, so a sweep run is
 * byte-for-byte the run you would get by hand, whatever `--jobs` is. Child processes rather than threads: each run
 * gets its own heap, and a crash fails one run, not the sweep.
 *
 * The index (index.json, or index.shard-i-of-N.json for a shard) lists every run of the shard with its parameters
 * and status and is rewritten atomically as runs finish. A run directory only appears complete when its run
 * finished (it is renamed into place), so `--resume` re-runs exactly the runs without a complete directory.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";

import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../sim/io/atomic-write.ts";
import { loadConfig } from "./config/load.ts";
import { isCompleteRun, REPO_ROOT } from "./results.ts";
import { textTable } from "./summary-table.ts";
import {
  expandSweep,
  type IndexEntry,
  indexFileName,
  parseShard,
  type Shard,
  SweepError,
  type SweepIndex,
  type SweepRun,
  sampling,
  shardRuns,
} from "./sweep.ts";

export interface SweepCliOptions {
  set: string[];
  seed: number | undefined;
  jobs: number | undefined;
  out: string | undefined;
  resume: boolean;
  shard: string | undefined;
  emit: "slurm" | undefined;
  shards: number;
  list: boolean;
  report: boolean;
}

const BIN = join(REPO_ROOT, "bin/topocast.js");

/** Slurm's default MaxArraySize: array indexes run from 0 to MaxArraySize - 1 (slurm.conf(5)). */
export const SLURM_DEFAULT_MAX_ARRAY_SIZE = 1001;

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * An #SBATCH option value as sbatch reads it (Slurm's sbatch.c `_get_argument`): the value ends at white space
 * outside double quotes, a backslash escapes the next character and an unescaped `#` starts a comment. Quoted, with
 * `\\`, `"` and `#` escaped, any value without a line break survives. (`%` patterns are the caller's business.)
 */
export function sbatchValue(s: string): string {
  return `"${s.replace(/[\\"#]/g, (c) => `\\${c}`)}"`;
}

export async function sweepCommand(file: string, o: SweepCliOptions): Promise<void> {
  const loaded = loadConfig(file, { set: o.set, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const all = expandSweep(loaded, o.set, o.seed);
  const out = resolve(o.out ?? join(loaded.config.output.dir, loaded.config.name, "sweep"));
  const shard: Shard | undefined = o.shard === undefined ? undefined : parseShard(o.shard);
  const commonArgs = [
    ...o.set.flatMap((s) => ["--set", s]),
    ...(o.seed !== undefined ? ["--seed", String(o.seed)] : []),
  ];

  if (o.list) {
    const rows = shardRuns(all, shard).map((r) => [
      String(r.index),
      r.id,
      JSON.stringify(r.params),
      String(r.seed),
      String(r.run),
    ]);
    console.log(textTable({ head: ["#", "id", "parameters", "seed", "run"], rows }));
    console.log(
      `${rows.length} of ${all.length} runs${shard ? ` (shard ${shard.index}/${shard.count})` : ""}`,
    );
    return;
  }
  if (o.emit === "slurm") {
    // A task beyond the last run would only start a process that finds nothing to do.
    const shards = Math.max(1, Math.min(o.shards, all.length));
    if (shards < o.shards)
      console.error(`--shards ${o.shards}: only ${all.length} runs, writing ${shards} tasks`);
    if (shards > SLURM_DEFAULT_MAX_ARRAY_SIZE) {
      console.error(
        `warning: ${shards} array tasks exceed Slurm's default MaxArraySize (${SLURM_DEFAULT_MAX_ARRAY_SIZE}); sbatch refuses the array unless the cluster raised it (scontrol show config | grep MaxArraySize), else use fewer --shards`,
      );
    }
    const path = emitSlurm(file, out, shards, commonArgs, loaded.config.name, all.length);
    console.log(`wrote ${path}: ${shards} array tasks over ${all.length} runs`);
    console.log(`submit with: sbatch ${path}`);
    console.log(`then merge:  topocast report ${out}`);
    return;
  }

  const runs = shardRuns(all, shard);
  const entries: IndexEntry[] = runs.map((r) => ({
    index: r.index,
    id: r.id,
    params: r.params,
    seed: r.seed,
    run: r.run,
    dir: `runs/${r.id}`,
    status: isCompleteRun(join(out, "runs", r.id)) ? "done" : "pending",
  }));
  const index: SweepIndex = {
    experiment: loaded.config.name,
    configFile: resolve(file),
    configHash: loaded.hash,
    set: o.set,
    grid: loaded.config.sweep?.grid ?? {},
    seeds: o.seed !== undefined ? [o.seed] : (loaded.config.sweep?.seeds ?? [loaded.config.seed]),
    runs: loaded.config.sweep?.runs ?? loaded.config.runs,
    ...sampling(loaded),
    totalRuns: all.length,
    shard: shard ? `${shard.index}/${shard.count}` : null,
    entries,
  };
  const indexPath = join(out, indexFileName(shard));
  const saveIndex = () => writeJsonAtomic(indexPath, index);
  saveIndex();

  const todo = runs.filter((_, i) => !(o.resume && entries[i]!.status === "done"));
  const skipped = runs.length - todo.length;
  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), todo.length || 1));
  console.error(
    `sweep ${loaded.config.name}: ${todo.length} run(s) to do${skipped ? `, ${skipped} already done` : ""}${shard ? ` (shard ${shard.index}/${shard.count} of ${all.length})` : ""}, ${jobs} at a time -> ${out}`,
  );
  const byId = new Map(entries.map((e) => [e.id, e]));
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  await pool(todo, jobs, async (r) => {
    const res = await runChild(file, r, join(out, "runs", r.id), commonArgs);
    const e = byId.get(r.id)!;
    if (res.code === 0) {
      e.status = "done";
      delete e.error;
      done++;
    } else {
      e.status = "failed";
      e.error = res.stderr.trim().split("\n").slice(-5).join("\n");
      failed++;
    }
    saveIndex();
    console.error(
      `[${done + failed}/${todo.length}] ${r.id}: ${e.status}${e.status === "failed" ? `\n  ${e.error?.replaceAll("\n", "\n  ")}` : ""}`,
    );
  });
  console.error(
    `sweep finished in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${done} done, ${failed} failed`,
  );
  if (o.report && shard === undefined) {
    // Loaded only here: a shard on a cluster node (--no-report) never needs the report's plots and statistics.
    const { renderSweepReport } = await import("./sweep-report.ts");
    const r = await renderSweepReport(out);
    console.log(r.table);
    console.log(`report: ${r.reportPath}`);
  } else {
    console.log(`index: ${indexPath}`);
  }
  if (failed > 0) process.exitCode = 1;
}

/** Runs `work` over `items` with at most `n` in flight, in order of `items`. */
async function pool<T>(items: readonly T[], n: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

function runChild(
  file: string,
  r: SweepRun,
  dir: string,
  common: string[],
): Promise<{ code: number | null; stderr: string }> {
  const args = [
    BIN,
    "run",
    file,
    ...common,
    ...r.set.flatMap((s) => ["--set", s]),
    "--seed",
    String(r.seed),
    "--run",
    String(r.run),
    "--out",
    dir,
    "--quiet",
    "--no-report",
  ];
  return new Promise((resolveP) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr = (stderr + d).slice(-20_000);
    });
    child.on("close", (code) => resolveP({ code, stderr }));
    child.on("error", (e) => resolveP({ code: null, stderr: String(e) }));
  });
}

/**
 * Writes `<out>/sweep.sbatch`: a Slurm job array whose task i runs `topocast sweep --shard i/N --resume` with
 * as many parallel runs as the task has CPUs. Every path in it is absolute (this node binary, topocast, the config,
 * the sweep directory), so it runs wherever those paths are the same: on a cluster, a shared file system. Resources
 * are defaults a submit can override (`sbatch --cpus-per-task=2 --mem-per-cpu=1G sweep.sbatch`). Rerunning a failed
 * task (`sbatch --array=5 sweep.sbatch`) or the whole array does only what is missing; `topocast report <out>`
 * merges the shards' indexes. Checked against a real slurmctld/slurmd in test/experiments/slurm-sweep.test.ts.
 */
export function emitSlurm(
  file: string,
  out: string,
  shards: number,
  common: string[],
  name: string,
  total: number,
): string {
  if (/[\n\r]/.test(out) || /[\n\r]/.test(name))
    throw new SweepError(
      `--emit slurm: ${JSON.stringify(/[\n\r]/.test(out) ? out : name)} holds a line break, which an #SBATCH line cannot carry; choose another --out directory or config name`,
    );
  const sbatchOutput = sbatchValue(`${join(out, "slurm").replaceAll("%", "%%")}/%A_%a.out`);
  const cmd = [
    process.execPath,
    BIN,
    "sweep",
    resolve(file),
    ...common,
    "--out",
    out,
    "--resume",
    "--no-report",
    "--shard",
  ]
    .map(shellQuote)
    .join(" ");
  const script = `#!/bin/bash
# Generated by: topocast sweep ${file} --emit slurm --shards ${shards}
# ${total} runs in ${shards} shards; shard i runs every run whose index is i mod ${shards}.
# Needs the paths below on every compute node (a shared file system) and write access to ${out}.
# Submit:     sbatch ${out}/sweep.sbatch
#             (options on the command line override the #SBATCH lines: sbatch --cpus-per-task=2 --mem-per-cpu=1G
#             --partition=<p> ${out}/sweep.sbatch; at most N tasks at once: --array=0-${shards - 1}%N)
# Resume:     a failed task leaves its runs missing or failed; resubmit just it (sbatch --array=<i>,<j> ...) or the
#             whole array: every task runs only its shard's runs without a complete directory.
# Afterwards: topocast report ${out}     (merges the shards' index files)
#SBATCH --job-name=${sbatchValue(`topocast-${name}`)}
#SBATCH --array=0-${shards - 1}
#SBATCH --cpus-per-task=4
#SBATCH --mem-per-cpu=2G
#SBATCH --time=04:00:00
#SBATCH --output=${sbatchOutput}
set -euo pipefail
cd ${shellQuote(process.cwd())}
${cmd} "\${SLURM_ARRAY_TASK_ID}/${shards}" --jobs "\${SLURM_CPUS_PER_TASK:-1}"
`;
  const path = join(out, "sweep.sbatch");
  mkdirSync(join(out, "slurm"), { recursive: true });
  writeFileAtomic(path, script);
  return path;
}
