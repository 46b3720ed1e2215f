import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { sharedDataDir, skipUnlessShared } from "../helpers/shared-data.ts";
import { topocast as topocastChild, topocastInProcess } from "./run-cli.ts";

/** A temporary directory removed when the file's tests end. */
const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/**
 * Runs `topocast args` in this process (run-cli.ts: the same exit code and output without a child's start-up);
 * the tests marked "as a child process" run bin/topocast.js itself, as users do.
 */
function topocast(...args: string[]) {
  return topocastInProcess(args);
}

describe("topocast CLI", () => {
  it("summarizes the bundled Abilene topology (as a child process)", async () => {
    const r = await topocastChild(["topo", "show", "Abilene", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.nodes, 11);
    assert.equal(s.links, 28);
  });

  it("names Abilene's nodes by id with their Zoo PoP labels beside them", async () => {
    const r = await topocast("topo", "show", "Abilene");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\b0 \(New York\), 1 \(Chicago\), 10 \(Indianapolis\)/);
  });

  it("summarizes an SNDlib network read from a path", { skip: skipUnlessShared }, async () => {
    const r = await topocast(
      "topo",
      "show",
      resolve(sharedDataDir()!, "topologies/sndlib/abilene.xml"),
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).nodes, 12);
  });

  it("runs a small demo and reports every flow", async () => {
    const r = await topocast("demo", "--flows", "500", "--json");
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.flows.count, 500);
    assert.ok(result.flows.slowdown.mean >= 1);
  });

  it("runs the quickstart config (shortened), printing the summary table, the lines reading it and the report path", async () => {
    const out = join(tempDir("topocast-cli-"), "quickstart");
    const r = await topocast(
      "run",
      "experiments/configs/quickstart.yaml",
      "--set",
      "workload.window.duration=300ms",
      // The quickstart's link failure (at 2 s) lies beyond a 300 ms window.
      "--set",
      "failures=[]",
      "--out",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /quickstart: Abilene \(11 nodes, 28 directed links\)/);
    assert.match(r.stdout, /│ shortest-path +│ \d+/);
    assert.match(r.stdout, /│ ecmp +│ \d+/);
    assert.match(
      r.stdout,
      /^Slowdown = .*\n^At 80% peak load and no failure, .*\n^(Value of prediction|No predictive)/m,
    );
    assert.match(r.stdout, /report: +.*quickstart[/\\]report\.html/);
    assert.ok(existsSync(join(out, "report.html")));
  });

  it("documents every command with examples in --help", async () => {
    const cmds = ["run", "sweep", "report", "compare", "validate", "demo", "topo show"];
    const results = await Promise.all(cmds.map((c) => topocast(...c.split(" "), "--help")));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Examples:/, `${cmds[i]} --help`);
    });
  });

  /** The last row runs as a child process: bin/topocast.js exits with the code. */
  const bad: [string, string[], RegExp][] = [
    ["a missing topology file", ["topo", "show", "missing.graphml"], /missing\.graphml: no such file/],
    ["an unknown bundled network", ["topo", "show", "Atlantis"], /"Atlantis" not found; available: Abilene/],
    ["an out-of-range load", ["demo", "--load", "7"], /--load: expected \(0, 1\.5\], got 7/],
    ["an unknown command", ["frobnicate"], /Unknown argument: frobnicate/],
  ];
  for (const [what, args, msg] of bad) {
    const child = what === bad.at(-1)![0];
    it(`exits 2 with a one-line reason for ${what}${child ? " (as a child process)" : ""}`, async () => {
      const r = child ? await topocastChild(args) : await topocast(...args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, msg);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace without --debug");
    });
  }
});

describe("topocast predict and emulate commands", () => {
  it("evaluates forecasters on a CSV traffic-matrix series and writes predict.json", async () => {
    const dir = tempDir("topocast-predict-");
    const rows = ["time_s,src,dst,rate_bps"];
    for (let t = 0; t < 40; t++) {
      rows.push(
        `${t * 300},A,B,${1e6 * (2 + Math.sin(t / 3))}`,
        `${t * 300},B,A,${5e5 * (2 + Math.cos(t / 5))}`,
      );
    }
    writeFileSync(join(dir, "tm.csv"), `${rows.join("\n")}\n`);
    const out = join(dir, "out");
    const r = await topocast(
      "predict",
      "--tm",
      join(dir, "tm.csv"),
      "--train",
      "0.5",
      "--predictors",
      "lv,ewma",
      "--out",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ewma\s+1\s/);
    assert.ok(existsSync(join(out, "predict.json")));
  });

  const notRoot = process.getuid?.() === 0 ? false : "needs root (network namespaces)";
  it("emulate up <config> builds the config's scaled substrate; status, exec and down work on it", {
    skip: notRoot,
  }, async () => {
    const dir = tempDir("topocast-cli-up-");
    const file = join(dir, "ring.yaml");
    writeFileSync(
      file,
      `name: up
topology: {generator: {kind: ring, n: 3}, links: {capacity: 1Gbps, delay: 0ms}}
policies: [{name: shortest-path}]
emulation: {rateScale: 0.01, queue: 1000p}
`,
    );
    const up = await topocast("emulate", "up", file);
    assert.equal(up.code, 0, up.stderr);
    const runId = /run ([0-9a-f]{6}) is up \(3 nodes/.exec(up.stdout)?.[1];
    assert.ok(runId, up.stdout);
    try {
      assert.match(up.stdout, /n0\s+netns tc[0-9a-f]{6}-n0\s+10\.213\.0\.1 /);
      assert.match(
        (await topocast("emulate", "status")).stdout,
        new RegExp(`${runId}\\s+up \\(persistent\\)`),
      );
      // The config's rateScale: 1 Gbit/s links are emulated at 10 Mbit/s. As a child process: exec hands the
      // command this process's own output streams.
      const tc = await topocastChild([
        "emulate",
        "exec",
        runId!,
        "n0",
        "--",
        "tc",
        "class",
        "show",
        "dev",
        `tc${runId}-e0a`,
      ]);
      assert.equal(tc.code, 0, tc.stderr);
      assert.match(tc.stdout, /rate 10Mbit/);
    } finally {
      const down = await topocast("emulate", "down", runId!);
      assert.equal(down.code, 0, down.stderr);
    }
    assert.doesNotMatch((await topocast("emulate", "status")).stdout, new RegExp(runId!));
  });

  it("lists emulation runs, and rejects a malformed run id with exit code 2", async () => {
    assert.equal((await topocast("emulate", "status")).code, 0);
    const r = await topocast("emulate", "exec", "nope", "n0", "--", "true");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /run id must be six lower-case hex digits, got "nope"/);
  });
});
