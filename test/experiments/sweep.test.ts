import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import { expandSweep, parseShard, shardRuns } from "../../experiments/sweep.ts";
import { sbatchValue } from "../../experiments/sweep-command.ts";
import { topocastInProcess as topocast } from "./run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-sweep-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const CONFIG = `name: tiny-sweep
seed: 1
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 1ms}
workload:
  window: {duration: 200ms}
  load: {targetMlu: 0.5}
policies:
  - name: shortest-path
  - name: ecmp
    params: {weight: hops}
sweep:
  grid:
    workload.load.targetMlu: [0.5, 0.8]
  seeds: [1, 2]
`;
const configFile = join(dir, "tiny-sweep.yaml");
writeFileSync(configFile, CONFIG);

describe("sweep grid expansion", () => {
  const loaded = parseConfig(
    `${CONFIG.replace("  seeds: [1, 2]\n", "")}    policies[1].params.maxPaths: [1, 2, 4]\n  seeds: [1, 2]\n  runs: 2\n`,
    "grid.yaml",
    dir,
  );
  const runs = expandSweep(loaded);

  it("runs the cartesian product of the grid x seeds x replications, last grid key fastest", () => {
    assert.equal(runs.length, 2 * 3 * 2 * 2);
    assert.deepEqual(runs[0]!.params, { "workload.load.targetMlu": 0.5, "policies[1].params.maxPaths": 1 });
    assert.deepEqual(runs[4]!.params, { "workload.load.targetMlu": 0.5, "policies[1].params.maxPaths": 2 });
    assert.deepEqual(
      runs.slice(0, 4).map((r) => [r.seed, r.run]),
      [
        [1, 0],
        [1, 1],
        [2, 0],
        [2, 1],
      ],
    );
  });

  it("gives every run a readable, unique id that depends only on its parameters", () => {
    assert.equal(runs[0]!.id, "targetMlu=0.5,maxPaths=1-s1-r0");
    assert.equal(new Set(runs.map((r) => r.id)).size, runs.length);
  });

  for (const n of [1, 3, 5, 24, 30]) {
    it(`partitions the runs exactly into ${n} shard(s)`, () => {
      const seen = new Map<string, number>();
      for (let i = 0; i < n; i++)
        for (const r of shardRuns(runs, { index: i, count: n })) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
      assert.equal(seen.size, runs.length);
      assert.ok([...seen.values()].every((c) => c === 1));
    });
  }

  const badShards = ["3/3", "-1/2", "1", "a/b", "0/0"];
  for (const s of badShards) {
    it(`rejects the shard ${JSON.stringify(s)}`, () =>
      assert.throws(() => parseShard(s), /--shard: expected i\/N/));
  }

  it("rejects a grid value that makes an invalid config, naming the grid entry", () => {
    const bad = parseConfig(CONFIG.replace("[0.5, 0.8]", "[0.5, 9]"), "bad.yaml", dir);
    assert.throws(
      () => expandSweep(bad),
      /bad\.yaml:\d+: sweep\.grid\["workload\.load\.targetMlu"\]\[1\]: 9 is not a valid/,
    );
  });
});

describe("topocast sweep", () => {
  const full = join(dir, "full");
  const sharded = join(dir, "sharded");
  const files = (root: string) =>
    readdirSync(join(root, "runs"))
      .sort()
      .flatMap((id) =>
        ["summary.json", "flows.csv", "links.csv", "timeseries.csv"].map((f) => join("runs", id, f)),
      );

  it("runs every run with --jobs 1, and the same runs in two shards with --jobs 2, byte for byte", async () => {
    const a = await topocast(["sweep", configFile, "--jobs", "1", "--out", full, "--no-report"]);
    assert.equal(a.code, 0, a.stderr);
    for (const shard of ["0/2", "1/2"]) {
      const b = await topocast(["sweep", configFile, "--jobs", "2", "--out", sharded, "--shard", shard]);
      assert.equal(b.code, 0, b.stderr);
    }
    assert.equal(readdirSync(join(full, "runs")).length, 4);
    assert.deepEqual(files(full), files(sharded));
    for (const f of files(full)) {
      assert.ok(
        readFileSync(join(full, f)).equals(readFileSync(join(sharded, f))),
        `${f} differs across --jobs/shards`,
      );
    }
    const index = JSON.parse(readFileSync(join(full, "index.json"), "utf8"));
    assert.equal(index.totalRuns, 4);
    assert.deepEqual(
      index.entries.map((e: { id: string; status: string }) => [e.id, e.status]),
      [
        ["targetMlu=0.5-s1-r0", "done"],
        ["targetMlu=0.5-s2-r0", "done"],
        ["targetMlu=0.8-s1-r0", "done"],
        ["targetMlu=0.8-s2-r0", "done"],
      ],
    );
    assert.ok(
      existsSync(join(sharded, "index.shard-0-of-2.json")) &&
        existsSync(join(sharded, "index.shard-1-of-2.json")),
    );
  });

  it("re-runs only the missing run with --resume", async () => {
    rmSync(join(sharded, "runs", "targetMlu=0.8-s1-r0"), { recursive: true });
    const r = await topocast([
      "sweep",
      configFile,
      "--jobs",
      "2",
      "--out",
      sharded,
      "--resume",
      "--no-report",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1 run\(s\) to do, 3 already done/);
    assert.ok(existsSync(join(sharded, "runs", "targetMlu=0.8-s1-r0", "summary.json")));
  });

  it("merges the shards' indexes in its report", async () => {
    const r = await topocast(["report", sharded]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /runs: 4 of 4 complete/);
    const html = readFileSync(join(sharded, "report.html"), "utf8");
    assert.match(html, /<svg/);
    assert.match(
      readFileSync(join(sharded, "sweep-summary.csv"), "utf8"),
      /^workload\.load\.targetMlu,policy,runs,/,
    );
  });

  it("writes a Slurm job array whose task i runs shard i/N", async () => {
    const out = join(dir, "slurm");
    const r = await topocast(["sweep", configFile, "--emit", "slurm", "--shards", "3", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const script = readFileSync(join(out, "sweep.sbatch"), "utf8");
    assert.match(script, /^#SBATCH --array=0-2$/m);
    assert.match(script, /sweep .*tiny-sweep\.yaml .*--resume .*--shard "\$\{SLURM_ARRAY_TASK_ID\}\/3"/);
    assert.equal(existsSync(join(out, "runs")), false, "emitting runs nothing");
    assert.ok(script.includes(`\n${process.execPath} `), "runs this node binary by its absolute path");
  });

  it("writes no more array tasks than the sweep has runs", async () => {
    const out = join(dir, "slurm-clamped");
    const r = await topocast(["sweep", configFile, "--emit", "slurm", "--shards", "9", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--shards 9: only 4 runs, writing 4 tasks/);
    const script = readFileSync(join(out, "sweep.sbatch"), "utf8");
    assert.match(script, /^#SBATCH --array=0-3$/m);
    assert.match(script, /--shard "\$\{SLURM_ARRAY_TASK_ID\}\/4"/);
  });
});

describe("#SBATCH option values", () => {
  const cases: [string, string][] = [
    ["/tmp/sweep/slurm/%A_%a.out", '"/tmp/sweep/slurm/%A_%a.out"'],
    ["/tmp/my sweep/x", '"/tmp/my sweep/x"'],
    ["/tmp/run #1/x", '"/tmp/run \\#1/x"'],
    ['/tmp/a"b\\c', '"/tmp/a\\"b\\\\c"'],
  ];
  for (const [value, written] of cases) {
    it(`writes ${JSON.stringify(value)} as ${written}`, () => assert.equal(sbatchValue(value), written));
  }

  it("refuses an --out directory with a line break, naming it", async () => {
    const r = await topocast(["sweep", configFile, "--emit", "slurm", "--out", join(dir, "a\nb")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /holds a line break/);
  });
});
