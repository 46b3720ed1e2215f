import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Persona } from "../../../models/personas/profile.ts";
import { REPO_ROOT } from "../../helpers/shared-data.ts";
import { type CliResult, topocast, topocastInProcess } from "../run-cli.ts";

const CONFIG = join(REPO_ROOT, "experiments/configs/persona-learn.yaml");
const dir = mkdtempSync(join(tmpdir(), "topocast-persona-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, "nested", "personas.db");

/**
 * `topocast persona <args> --db <db>`, expecting exit code 0: in this process (runCli), except the first learning
 * run and the import/export round trip below, which go through bin/topocast.js as users run it.
 */
async function persona(...args: string[]): Promise<CliResult> {
  const r = await topocastInProcess(["persona", ...args, "--db", db]);
  assert.equal(r.code, 0, `persona ${args.join(" ")}: ${r.stderr}`);
  return r;
}

describe("topocast persona, end to end on experiments/configs/persona-learn.yaml", () => {
  let first: Persona[] = [];
  before(async () => {
    const learned = await topocast(["persona", "learn", CONFIG, "--json", "--db", db], { cwd: dir });
    assert.equal(learned.code, 0, learned.stderr);
    first = JSON.parse(learned.stdout) as Persona[];
    await persona("learn", CONFIG, "--window", "2s..6s");
  });

  it("learns every application's persona from a simulator run and stores it as version 1", () => {
    assert.deepEqual(
      first.map((p) => [p.application.name, p.version, p.desired.topology, p.desired.routing]),
      [
        ["game", 1, "mesh", "latency"],
        ["trading", 1, "mesh", "latency"],
        ["ledger", 1, "mesh", "latency"],
        ["stream", 1, "star", "bandwidth"],
        ["ml", 1, "tree", "bandwidth"],
        ["store", 1, "tree", "bandwidth"],
      ],
    );
    const trading = first[1]!;
    assert.equal(trading.application.versionHash, "2.3");
    assert.deepEqual(trading.fingerprint.ports, [5432, 9000]);
    assert.deepEqual(
      trading.fingerprint.peers.map((p) => [p.app, p.critical]),
      [
        ["client", false],
        ["ledger", true],
      ],
    );
    assert.deepEqual(first[0]!.fingerprint.protocols, ["udp"]);
    assert.deepEqual(first[0]!.provenance, {
      engine: "sim",
      run: CONFIG,
      learnedAt: "persona-learn seed 7 run 0, policy shortest-path",
      windowStartNs: 0,
      windowEndNs: 10e9,
    });
  });

  it("lists each application's latest version and count", async () => {
    const rows = JSON.parse((await persona("list", "--json")).stdout) as {
      app: string;
      version: number;
      versions: number;
    }[];
    assert.deepEqual(
      rows.map((r) => `${r.app}@${r.version}/${r.versions}`),
      ["game@2/2", "ledger@2/2", "ml@2/2", "store@2/2", "stream@2/2", "trading@2/2"],
    );
    assert.match((await persona("list")).stdout, /trading .* 2 .* 2 .* 2\.3/);
  });

  it("shows the latest version, or the one asked for", async () => {
    const latest = JSON.parse((await persona("show", "stream")).stdout) as Persona;
    assert.equal(latest.version, 2);
    assert.deepEqual([latest.provenance.windowStartNs, latest.provenance.windowEndNs], [2e9, 6e9]);
    const v1 = JSON.parse((await persona("show", "stream", "--at", "1")).stdout) as Persona;
    assert.deepEqual(v1, first[3]);
  });

  it("diffs the latest version against the previous one, naming the changed fields", async () => {
    const text = (await persona("diff", "stream")).stdout;
    assert.match(text, /^stream: version 1 -> 2, \d+ changed fields$/m);
    assert.match(text, /^ {2}provenance\.windowStartNs: 0 -> 2000000000$/m);
    const json = JSON.parse((await persona("diff", "stream", "--against", "1", "--json")).stdout) as {
      changes: { path: string }[];
    };
    assert.ok(json.changes.some((c) => c.path === "fingerprint.bandwidth.meanBps"));
  });

  it("exports to a file and imports into another repository, the same documents", async () => {
    const file = join(dir, "export.json");
    await persona("export", "--app", "game", "--app", "ml", "--out", file);
    const exported = JSON.parse(readFileSync(file, "utf8")) as Persona[];
    assert.deepEqual(
      exported.map((p) => `${p.application.name}@${p.version}`),
      ["game@1", "game@2", "ml@1", "ml@2"],
    );
    const other = join(dir, "other.db");
    const r = await topocast(["persona", "import", file, "--db", other], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added game@1, game@2, ml@1, ml@2; already there none/);
    const back = await topocast(["persona", "export", "--db", other], { cwd: dir });
    assert.deepEqual(JSON.parse(back.stdout), exported);
  });

  const bad: [string, () => string[], RegExp][] = [
    [
      "an unknown application",
      () => ["show", "chess"],
      /no persona of "chess" in .*; it has game, ledger, ml/,
    ],
    [
      "an absent version",
      () => ["diff", "game", "--against", "9"],
      /game has no version 9 in .*; it has 1, 2/,
    ],
    [
      "a document with a bad field",
      () => {
        const file = join(dir, "bad.json");
        const doc = { ...first[0]!, desired: { ...first[0]!.desired, topology: "ring" } };
        writeFileSync(file, JSON.stringify([doc]));
        return ["import", file];
      },
      /bad\.json\[0\]: desired\.topology: got "ring"; allowed: "star", "mesh", "tree"/,
    ],
    [
      "a config without applications",
      () => ["learn", join(REPO_ROOT, "experiments/configs/ci-ring.yaml")],
      /ci-ring\.yaml.*workload: has no applications \(workload\.applications\)/,
    ],
    [
      "a bad window",
      () => ["learn", CONFIG, "--window", "5s..1s"],
      /--window: expected "<end>" or "<start>\.\.<end>"/,
    ],
    [
      "conntrack as the source of a simulated run",
      () => ["learn", CONFIG, "--source", "conntrack"],
      /--source conntrack: only the emulator has conntrack's connections; add --engine emulate/,
    ],
  ];
  for (const [what, args, message] of bad) {
    it(`exits 2 with a one-line reason for ${what}`, async () => {
      const r = await topocastInProcess(["persona", ...args(), "--db", db]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    });
  }
});
