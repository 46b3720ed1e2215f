/**
 * Bad input, as a newcomer types it: configs, `--set` lines, topology, traffic-matrix and flow-size CDF files. Every
 * case runs the CLI (`runCli`, in this process: a child per case cost 90 start-ups) and must exit 2 with a message
 * that names the file (or the `--set`) and the field, with no stack trace, no raw control bytes, a few lines at most,
 * and no hang. The base case and the `run` cases at the end go through bin/topocast.js in a child process, as users
 * do, so the binary's exit codes and stderr are covered too.
 *
 * `validate` must refuse everything `run` would (the last cases run `run` itself on a few of them).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as YAML from "yaml";
import { topocast, topocastInProcess } from "./run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-bad-input-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A valid config (validated by the first case); cases change one part. */
const BASE = {
  name: "bad",
  topology: { generator: { kind: "ring", n: 4 } },
  workload: { tm: { kind: "uniform", rate: "10Mbps" }, window: { duration: "2s" } },
  policies: [{ name: "shortest-path" }, { name: "predictive-overlay", predictor: { name: "ewma" } }],
};

type Json = Record<string, unknown>;

/** BASE with `patch` merged in (objects merge, everything else replaces). */
function config(patch: Json, base: Json = BASE): string {
  const merge = (a: unknown, b: unknown): unknown =>
    a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)
      ? Object.fromEntries(
          [...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [
            k,
            k in (b as Json) ? merge((a as Json)[k], (b as Json)[k]) : (a as Json)[k],
          ]),
        )
      : b;
  return YAML.stringify(merge(base, patch));
}

/** A config that reads `file` (written next to it) as its topology, TM or CDF. */
const withTopology = (file: string) => config({ topology: { generator: undefined, file } });

const GRAPHML = (body: string) =>
  `<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">${body}</graph></graphml>`;
const SNDLIB = (unit: string, capacity: string) =>
  `<?xml version="1.0"?><network><meta><unit>${unit}</unit></meta><networkStructure><nodes coordinatesType="pixel"><node id="A"/><node id="B"/></nodes><links><link id="L1"><source>A</source><target>B</target><preInstalledModule><capacity>${capacity}</capacity></preInstalledModule></link></links></networkStructure></network>`;
const CSV_TM = "time_s,src,dst,rate_bps\n0,n0,n1,1e6\n1,n0,n1,2e6\n";

const BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ..."bcdefghi".split("").map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`),
].join("\n");

interface Case {
  what: string;
  /** Files to write into the case's directory: the config is `c.yaml` unless `args` names another. */
  files: Record<string, string | Buffer>;
  /** CLI arguments; default `validate c.yaml`; `@` stands for the case's directory. */
  args?: string[];
  /** What stderr must match (besides naming the file or the --set). */
  message: RegExp;
  /** Exit code, 2 unless said. */
  code?: number;
  /** Run through bin/topocast.js in a child process rather than in this process. */
  child?: boolean;
}

const cfg = (patch: Json, ...set: string[]): Pick<Case, "files" | "args"> => ({
  files: { "c.yaml": config(patch) },
  args: ["validate", "@/c.yaml", ...set.flatMap((s) => ["--set", s])],
});

export const CASES: Case[] = [
  // ---------------------------------------------------------------------------------------------- files
  { what: "a missing config file", files: {}, message: /c\.yaml: no such file/ },
  { what: "a directory given as config", files: { "c.yaml/x": "" }, message: /c\.yaml: is a directory/ },
  {
    what: "binary content",
    files: { "c.yaml": Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a, 0xff]) },
    message: /c\.yaml: binary content \(NUL bytes\)/,
  },
  {
    what: "text that is not UTF-8",
    files: {
      "c.yaml": Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a]),
    },
    message: /c\.yaml: not UTF-8 text/,
  },
  {
    what: "a 5 MB file",
    files: { "c.yaml": `# ${"x".repeat(5 * 1024 * 1024)}\n` },
    message: /c\.yaml: 5\.0 MB is too large for a config/,
  },
  {
    what: "a junk file of thousands of unknown fields (first 5 shown, the rest counted)",
    files: { "c.yaml": Array.from({ length: 3000 }, (_, i) => `junk${i}: ${i}`).join("\n") },
    message:
      /c\.yaml:1: junk0: unknown field; allowed: .* \(and 2999 more unknown fields: \["junk1","junk2",/,
  },
  {
    what: "a junk list of thousands of bad items (first 5 shown, the rest counted)",
    files: { "c.yaml": `name: x\ntopology: {zoo: Abilene}\npolicies:\n${"  - {name: nope}\n".repeat(3000)}` },
    message:
      /c\.yaml:4: policies\[0\]\.name: unknown policy "nope"[\s\S]*\.\.\. and 2995 more problems \(fix these first\)/,
  },
  {
    what: "a YAML alias bomb",
    files: { "c.yaml": BOMB },
    message: /c\.yaml: malformed YAML: Excessive alias count/,
  },
  { what: "malformed YAML", files: { "c.yaml": "name: [x\n" }, message: /c\.yaml:\d+: malformed YAML/ },
  {
    what: "a duplicate key",
    files: { "c.yaml": "name: a\nname: b\n" },
    message: /c\.yaml:2: malformed YAML: Map keys must be unique/,
  },
  {
    what: "malformed JSON",
    files: { "c.json": '{"name": "x",,}' },
    args: ["validate", "@/c.json"],
    message: /c\.json:1: malformed YAML/,
  },
  {
    what: "a list, not a config",
    files: { "c.yaml": "- 1\n- 2\n" },
    message: /c\.yaml:1: expected object, got \[1,2\]/,
  },
  { what: "an empty file", files: { "c.yaml": "" }, message: /c\.yaml: name: required, missing/ },
  // ---------------------------------------------------------------------------------------------- fields
  {
    what: "a misspelt top-level field",
    ...cfg({ topolgy: 1 }),
    message: /c\.yaml:\d+: topolgy: unknown field \(did you mean "topology"\?\)/,
  },
  {
    what: "a bare duration string",
    ...cfg({ workload: { window: { duration: "1500" } } }),
    message:
      /c\.yaml:\d+: workload\.window\.duration: .*a number needs a unit \(ns, us, ms, s, min, h, d\), got "1500"/,
  },
  {
    what: "a bare duration number",
    ...cfg({ workload: { window: { duration: 1500 } } }),
    message: /c\.yaml:\d+: workload\.window\.duration: expected a duration .*got 1500/,
  },
  {
    what: "a bare rate string",
    ...cfg({ workload: { tm: { rate: "100" } } }),
    message: /c\.yaml:\d+: workload\.tm\.rate: .*a number needs a unit \(bps, kbps, Mbps/,
  },
  {
    what: "a bare size string",
    ...cfg({ metrics: { sizeBuckets: ["1500"] } }),
    message: /c\.yaml:\d+: metrics\.sizeBuckets\[0\]: .*a number needs a unit \(B, kB/,
  },
  {
    what: "a rate with a wrong unit",
    ...cfg({ topology: { links: { capacity: "10GB" } } }),
    message: /c\.yaml:\d+: topology\.links\.capacity: expected a rate .*got "10GB"/,
  },
  {
    what: "a negative duration",
    ...cfg({ failures: [{ at: "-1s", link: "n0->n1", state: "down" }] }),
    message: /c\.yaml:\d+: failures\[0\]\.at: expected a duration .*not negative/,
  },
  {
    what: ".inf",
    files: { "c.yaml": `${config({})}seed: .inf\n` },
    message: /c\.yaml:\d+: seed: expected a finite number, got infinity \(\.inf/,
  },
  {
    what: ".nan",
    files: { "c.yaml": `${config({})}control: {vnaPool: .nan}\n` },
    message: /c\.yaml:\d+: control\.vnaPool: expected a finite number, got not a number \(\.nan\)/,
  },
  {
    what: "1e400",
    files: { "c.yaml": `${config({})}runs: 1e400\n` },
    message: /c\.yaml:\d+: runs: expected a finite number, got infinity \(.*1e400\)/,
  },
  {
    what: "a string for a number",
    ...cfg({ workload: { load: { targetMlu: "high" } } }),
    message: /c\.yaml:\d+: workload\.load\.targetMlu: expected number, got "high"/,
  },
  {
    what: "a number out of range",
    ...cfg({ workload: { load: { targetMlu: 5 } } }),
    message: /c\.yaml:\d+: workload\.load\.targetMlu: expected a number <= 2, got 5/,
  },
  {
    what: "an unknown policy",
    ...cfg({ policies: [{ name: "ospf" }] }),
    message: /c\.yaml:\d+: policies\[0\]\.name: unknown policy "ospf"; known: /,
  },
  {
    what: "a misspelt policy parameter",
    ...cfg({ policies: [{ name: "ecmp", params: { maxPath: 2 } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.params\.maxPath: unknown field \(did you mean "maxPaths"\?\)/,
  },
  // ---------------------------------------------------------------------------------------------- predictors
  {
    what: "a misspelt predictor parameter",
    ...cfg({
      policies: [{ name: "predictive-overlay", predictor: { name: "ewma", params: { alpah: 0.3 } } }],
    }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.alpah: unknown field \(did you mean "alpha"\?\)/,
  },
  {
    what: "a predictor parameter of the wrong type",
    ...cfg({
      policies: [{ name: "predictive-overlay", predictor: { name: "ewma", params: { alpha: "high" } } }],
    }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.alpha: expected number, got "high"/,
  },
  {
    what: "a predictor parameter out of range",
    ...cfg({ policies: [{ name: "predictive-overlay", predictor: { name: "ewma", params: { alpha: 2 } } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.alpha: expected a number <= 1, got 2/,
  },
  {
    what: "Holt-Winters without its period",
    ...cfg({ policies: [{ name: "predictive-overlay", predictor: { name: "hw" } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.period: required, missing/,
  },
  {
    what: "an unknown predictor",
    ...cfg({ policies: [{ name: "predictive-overlay", predictor: { name: "arima" } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.name: unknown predictor "arima"; known: lv, /,
  },
  {
    what: "a misspelt LSTM setting",
    ...cfg({
      policies: [{ name: "predictive-overlay", predictor: { name: "lstm", params: { lstm: { unitz: 8 } } } }],
    }),
    message:
      /c\.yaml:\d+: policies\[0\]\.predictor\.params\.lstm\.unitz: unknown field \(did you mean "units"\?\)/,
  },
  {
    what: "predictor params that are not an object",
    ...cfg({ policies: [{ name: "predictive-overlay", predictor: { name: "ewma", params: 3 } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params: expected object, got 3/,
  },
  {
    what: "a parameter of another predictor",
    ...cfg({ policies: [{ name: "predictive-overlay", predictor: { name: "ma", params: { alpha: 0.3 } } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.alpha: unknown field; allowed: window/,
  },
  {
    what: "a predictor without a name",
    ...cfg({ policies: [{ name: "mirroring", predictor: { params: { alpha: 0.3 } } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.name: required, missing \(a predictor name: lv, /,
  },
  {
    what: "a predictor given by its name alone",
    ...cfg({ policies: [{ name: "mirroring", predictor: "ewma" }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor: expected an object such as \{name: "ewma"\}, got "ewma"/,
  },
  {
    what: "seasonal-naive without its period",
    ...cfg({ policies: [{ name: "mirroring", predictor: { name: "seasonal-naive" } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.period: required, missing/,
  },
  {
    what: "a policy parameter out of range",
    ...cfg({ policies: [{ name: "reactive", params: { threshold: 0 } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.params\.threshold: expected a number > 0, got 0/,
  },
  {
    what: "a shared policy parameter out of range",
    ...cfg({ policies: [{ name: "mirroring", params: { kPaths: 0 } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.params\.kPaths: expected a number >= 1, got 0/,
  },
  {
    what: "a predictor on a static policy",
    ...cfg({ policies: [{ name: "ecmp", predictor: { name: "ewma" } }] }),
    message: /c\.yaml:\d+: policies\[0\]\.predictor: policy "ecmp" uses no predictor/,
  },
  // ---------------------------------------------------------------------------------------------- sizes
  {
    what: "a ring of 1e12 nodes",
    ...cfg({ topology: { generator: { kind: "ring", n: 1e12 } } }),
    message:
      /c\.yaml:\d+: topology\.generator: a ring of 1000000000000 nodes is more than topocast simulates \(at most 10000\)/,
  },
  {
    what: "a fat tree of k = 1000",
    ...cfg({ topology: { generator: { kind: "fatTree", n: undefined, k: 1000, hosts: true } } }),
    message: /c\.yaml:\d+: topology\.generator: a fatTree of \d+ nodes is more than/,
  },
  {
    what: "a 1 ns gravity interval",
    ...cfg({ workload: { tm: { kind: "gravity", rate: undefined, interval: "1ns" } } }),
    message:
      /c\.yaml:\d+: workload\.tm\.interval: the gravity traffic matrix would hold 2000000000 interval\(s\)/,
  },
  {
    what: "a window start of 100000 days",
    ...cfg({ workload: { window: { start: "100000d" } } }),
    message:
      /c\.yaml:\d+: workload\.window\.start: .*too large \(simulated time counts integer ns, at most about 104 days\)/,
  },
  {
    what: "a gravity window 90 days in at 1 s intervals",
    ...cfg({
      workload: { tm: { kind: "gravity", rate: undefined, interval: "1s" }, window: { start: "90d" } },
    }),
    message:
      /c\.yaml:\d+: workload\.window\.start: the gravity traffic matrix would hold \d+ interval\(s\).*start the window earlier/,
  },
  {
    what: "a 1 ns metrics interval",
    ...cfg({ metrics: { interval: "1ns" } }),
    message: /c\.yaml:\d+: metrics\.interval: 1ns over the 2 s simulated would make 2\.00e\+9 samples/,
  },
  {
    what: "a 1 ns control interval",
    ...cfg({ control: { interval: "1ns" } }),
    message: /c\.yaml:\d+: control\.interval: 1ns over the 2 s simulated would make 2\.00e\+9 control rounds/,
  },
  {
    what: "more flows than limits.maxFlows",
    ...cfg({ limits: { maxFlows: 10 } }),
    message:
      /c\.yaml:\d+: workload\.window\.duration: the workload would generate about \d+ flows, more than limits\.maxFlows \(10\)/,
  },
  // ---------------------------------------------------------------------------------------------- failures, window
  {
    what: "a failure after the traffic ends",
    ...cfg({ failures: [{ at: "50s", link: "n0->n1", state: "down" }] }),
    message: /c\.yaml:\d+: failures\[0\]\.at: 50 s is not before the end of the simulated traffic \(2 s/,
  },
  {
    what: "a repair of a link that is up",
    ...cfg({ failures: [{ at: "1s", link: "n0->n1", state: "up" }] }),
    message: /c\.yaml:\d+: failures\[0\]\.state: n0->n1 is already up at 1 s \(links start up\)/,
  },
  {
    what: "a link failing twice",
    ...cfg({
      failures: [
        { at: "1s", link: "n0->n1", state: "down" },
        { at: "0.5s", link: "n1->n0", state: "down" },
      ],
    }),
    message: /c\.yaml:\d+: failures\[0\]\.state: n0->n1 is already down at 1 s \(failures\[1\] set it down\)/,
  },
  {
    what: "two events on one link at once",
    ...cfg({
      failures: [
        { at: "1s", link: "n0->n1", state: "down" },
        { at: "1s", link: "n0->n1", state: "up" },
      ],
    }),
    message: /c\.yaml:\d+: failures\[1\]: failures\[0\] and failures\[1\] both change n0->n1 at 1 s/,
  },
  {
    what: "an unknown failure link",
    ...cfg({ failures: [{ at: "1s", link: "0->1", state: "down" }] }),
    message:
      /c\.yaml:\d+: failures\[0\]\.link: unknown link "0->1" in ring\(n=4\); links are named like "n0->n1"/,
  },
  {
    what: "a window longer than the traffic-matrix data",
    files: {
      "c.yaml": config({
        topology: { generator: { kind: "line", n: 2 } },
        workload: { tm: { kind: "csv", rate: undefined, file: "tm.csv" }, window: { duration: "1h" } },
      }),
      "tm.csv": CSV_TM,
    },
    message:
      /c\.yaml:\d+: workload\.window\.duration: the window \[0s, \+1h\) ends at 3600 s of traffic-matrix time, after the data: .*tm\.csv.* ends at 2 s/,
  },
  {
    what: "a window after the data",
    files: {
      "c.yaml": config({
        topology: { generator: { kind: "line", n: 2 } },
        workload: { tm: { kind: "csv", rate: undefined, file: "tm.csv" }, window: { start: "1h" } },
      }),
      "tm.csv": CSV_TM,
    },
    message: /c\.yaml:\d+: workload\.window(\.duration)?: the window/,
  },
  // ---------------------------------------------------------------------------------------------- sweeps
  {
    what: "a sweep grid path that is no field",
    ...cfg({ sweep: { grid: { "workload.load.targetMLU": [0.5] } } }),
    message:
      /c\.yaml:\d+: sweep\.grid\["workload\.load\.targetMLU"\]\[0\]: .*unknown field \(did you mean "targetMlu"\?\)/,
  },
  {
    what: "a sweep grid value of the wrong type",
    ...cfg({ sweep: { grid: { "workload.load.targetMlu": [0.5, "high"] } } }),
    message: /c\.yaml:\d+: sweep\.grid\["workload\.load\.targetMlu"\]\[1\]: "high" is not a valid/,
  },
  {
    what: "a sweep grid value the run would refuse",
    ...cfg({ sweep: { grid: { "topology.generator.n": [4, 1e9] } } }),
    message:
      /c\.yaml:\d+: sweep\.grid\["topology\.generator\.n"\]\[1\]: with topology\.generator\.n=1000000000: topology\.generator: a ring of 1000000000 nodes/,
  },
  // ---------------------------------------------------------------------------------------------- --set
  { what: "--set without =", ...cfg({}, "seed"), message: /--set seed: expected path=value/ },
  {
    what: "--set with a malformed path",
    ...cfg({}, "workload..x=1"),
    message: /--set workload\.\.x=1: malformed path "workload\.\.x" at character 10/,
  },
  {
    what: "--set of an unknown field",
    ...cfg({}, "topology.zooo=Abilene"),
    message: /--set topology\.zooo=Abilene: topology\.zooo: unknown field \(did you mean "zoo"\?\)/,
  },
  {
    what: "--set of a field missing a sibling",
    ...cfg({}, "topology.generator.kind=grid"),
    message:
      /c\.yaml:\d+ with --set topology\.generator\.kind=grid: topology\.generator\.rows: required, missing/,
  },
  {
    what: "--set of an index past the end",
    ...cfg({}, "policies[40].name=ecmp"),
    message:
      /--set policies\[40\]\.name=ecmp: index 40 is past the end of policies \(2 items\); use policies\[2\] to append/,
  },
  {
    what: "--set of a field of a list",
    ...cfg({}, "policies.x=1"),
    message: /--set policies\.x=1: policies is a list: expected an index such as policies\[0\]/,
  },
  {
    what: "--set inside a scalar",
    ...cfg({}, "name.x=1"),
    message: /--set name\.x=1: cannot set "x" inside name, which is "bad"/,
  },
  {
    what: "--set of .inf",
    ...cfg({}, "workload.load.scale=.inf"),
    message:
      /--set workload\.load\.scale=\.inf: workload\.load\.scale: expected a finite number, got infinity/,
  },
  {
    what: "--set of a bare duration",
    ...cfg({}, "workload.window.duration='1500'"),
    message: /--set workload\.window\.duration='1500': workload\.window\.duration: .*a number needs a unit/,
  },
  {
    what: "--set conflicting with the file",
    ...cfg({ workload: { load: { targetMlu: 0.5 } } }, "workload.load.scale=2"),
    message:
      /c\.yaml:\d+ with --set workload\.load\.scale=2: workload\.load: give targetMlu or scale, not both/,
  },
  {
    what: "--seed below 0",
    ...cfg({}),
    args: ["validate", "@/c.yaml", "--seed", "-1"],
    message: /--seed: expected an integer >= 0, got -1/,
  },
  // ---------------------------------------------------------------------------------------------- topology files
  {
    what: "a bundled name that is a path",
    ...cfg({ topology: { generator: undefined, zoo: "../x.graphml" } }),
    message:
      /c\.yaml:\d+: topology\.zoo: expected a bundled network name, got "\.\.\/x\.graphml"; use file: for paths/,
  },
  {
    what: "an unknown bundled network",
    ...cfg({ topology: { generator: undefined, zoo: "Abilen" } }),
    message:
      /c\.yaml:\d+: topology\.zoo: bundled Topology Zoo network "Abilen" not found; available: Abilene/,
  },
  {
    what: "a missing topology file",
    files: { "c.yaml": withTopology("nope.graphml") },
    message: /c\.yaml:\d+: topology\.file: .*nope\.graphml: no such file/,
  },
  {
    what: "a topology file of unknown format",
    files: { "c.yaml": withTopology("t.txt"), "t.txt": "a b\n" },
    message: /c\.yaml:\d+: topology\.file: .*t\.txt: unknown topology format "\.txt"/,
  },
  {
    what: "malformed GraphML",
    files: { "c.yaml": withTopology("t.graphml"), "t.graphml": "<graphml><graph>" },
    message: /c\.yaml:\d+: topology\.file: .*t\.graphml: malformed XML/,
  },
  {
    what: "a GraphML edge to an unknown node",
    files: {
      "c.yaml": withTopology("t.graphml"),
      "t.graphml": GRAPHML('<node id="a"/><edge source="a" target="b"/>'),
    },
    message:
      /c\.yaml:\d+: topology\.file: .*t\.graphml: edge 0 \(source "a", target "b"\): unknown target node "b"/,
  },
  {
    what: "binary bytes in a GraphML file",
    files: {
      "c.yaml": withTopology("t.graphml"),
      "t.graphml": Buffer.from([0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a, 0xff]),
    },
    message: /c\.yaml:\d+: topology\.file: .*t\.graphml: /,
  },
  {
    what: "an SNDlib unit that is not a bit rate",
    files: { "c.yaml": withTopology("t.xml"), "t.xml": SNDLIB("PACKETSPERSEC", "10") },
    message:
      /c\.yaml:\d+: topology\.file: .*t\.xml: meta unit: expected a bit rate \(.*\), got "PACKETSPERSEC"/,
  },
  {
    what: "an SNDlib zero capacity",
    files: { "c.yaml": withTopology("t.xml"), "t.xml": SNDLIB("GBITPERSEC", "0") },
    message:
      /c\.yaml:\d+: topology\.file: .*t\.xml: link "L1" .*capacity must be a positive number of GBITPERSEC, got "0"/,
  },
  // ---------------------------------------------------------------------------------------------- TM and CDF files
  {
    what: "a CSV traffic matrix with a bad rate",
    files: {
      "c.yaml": config({
        topology: { generator: { kind: "line", n: 2 } },
        workload: { tm: { kind: "csv", rate: undefined, file: "tm.csv" } },
      }),
      "tm.csv": "time_s,src,dst,rate_bps\n0,n0,n1,lots\n",
    },
    message: /c\.yaml:\d+: workload\.tm: .*tm\.csv:2: /,
  },
  {
    what: "a CSV traffic matrix with a negative rate",
    files: {
      "c.yaml": config({
        topology: { generator: { kind: "line", n: 2 } },
        workload: { tm: { kind: "csv", rate: undefined, file: "tm.csv" } },
      }),
      "tm.csv": "time_s,src,dst,rate_bps\n0,n0,n1,-5\n",
    },
    message: /c\.yaml:\d+: workload\.tm: .*tm\.csv:2: /,
  },
  {
    what: "a CSV traffic matrix node not in the topology",
    files: {
      "c.yaml": config({
        topology: { generator: { kind: "line", n: 2 } },
        workload: { tm: { kind: "csv", rate: undefined, file: "tm.csv" } },
      }),
      "tm.csv": "time_s,src,dst,rate_bps\n0,n0,ZZ,5\n1,n0,ZZ,5\n",
    },
    message: /c\.yaml:\d+: workload\.nodeMap: traffic-matrix node "ZZ" is not in topology/,
  },
  {
    what: "a missing SNDlib matrix directory",
    ...cfg({ workload: { tm: { kind: "sndlib", rate: undefined, dir: "nope" } } }),
    message: /c\.yaml:\d+: workload\.tm: .*nope/,
  },
  {
    what: "a missing flow-size CDF",
    ...cfg({ workload: { flowSizes: { cdf: "nope.txt" } } }),
    message: /c\.yaml:\d+: workload\.flowSizes(\.cdf)?: /,
  },
  {
    what: "a flow-size CDF that decreases",
    files: {
      "c.yaml": config({ workload: { flowSizes: { cdf: "f.txt" } } }),
      "f.txt": "100 0\n200 0.8\n300 0.5\n400 1\n",
    },
    message: /c\.yaml:\d+: workload\.flowSizes\.cdf: .*f\.txt:\d+: /,
  },
  {
    what: "a flow-size CDF of junk",
    files: { "c.yaml": config({ workload: { flowSizes: { cdf: "f.txt" } } }), "f.txt": "hello world\n" },
    message: /c\.yaml:\d+: workload\.flowSizes\.cdf: .*f\.txt: no CDF points/,
  },
  {
    what: "a flow-size CDF of binary bytes",
    files: {
      "c.yaml": config({ workload: { flowSizes: { cdf: "f.txt" } } }),
      "f.txt": Buffer.from([0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 10]),
    },
    message: /c\.yaml:\d+: workload\.flowSizes\.cdf: .*f\.txt/,
  },
  // ---------------------------------------------------------------------------------------------- run refuses the same
  {
    what: "run: a failure after the traffic ends",
    files: { "c.yaml": config({ failures: [{ at: "50s", link: "n0->n1", state: "down" }] }) },
    args: ["run", "@/c.yaml", "--out", "@/out", "--no-report"],
    message: /c\.yaml:\d+: failures\[0\]\.at: 50 s is not before/,
  },
  {
    what: "run: a misspelt predictor parameter",
    files: {
      "c.yaml": config({
        policies: [
          { name: "predictive-overlay", predictor: { name: "hw", params: { period: 12, alpah: 1 } } },
        ],
      }),
    },
    args: ["run", "@/c.yaml", "--out", "@/out", "--no-report"],
    message: /c\.yaml:\d+: policies\[0\]\.predictor\.params\.alpah: unknown field/,
  },
  {
    what: "run: a YAML alias bomb",
    files: { "c.yaml": BOMB },
    args: ["run", "@/c.yaml"],
    message: /c\.yaml: malformed YAML: Excessive alias count/,
  },
];

describe("bad input exits 2 naming the file and field, without a stack trace or a hang", {
  concurrency: 2,
}, () => {
  it("the base config of the table is valid", async () => {
    const d = join(dir, "base");
    mkdirSync(d);
    writeFileSync(join(d, "c.yaml"), config({}));
    const r = await topocast(["validate", join(d, "c.yaml")], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
  });

  CASES.forEach((c, i) => {
    it(c.what, { timeout: 60_000 }, async (t) => {
      const d = join(dir, `case${i}`);
      mkdirSync(d);
      for (const [name, content] of Object.entries(c.files)) {
        mkdirSync(join(d, name, ".."), { recursive: true });
        if (!name.endsWith("/x")) writeFileSync(join(d, name), content);
        else mkdirSync(join(d, name, ".."), { recursive: true });
      }
      const args = (c.args ?? ["validate", "@/c.yaml"]).map((a) => a.replace("@", d));
      const r =
        c.child || args[0] === "run"
          ? await topocast(args, { timeoutMs: 60_000 })
          : await topocastInProcess(args);
      t.diagnostic(`exit ${r.code}: ${r.stderr.replaceAll(d, "<dir>").trim().replaceAll("\n", " | ")}`);
      assert.notEqual(r.code, null, `${c.what}: no exit within 60 s (a hang)`);
      assert.equal(r.code, c.code ?? 2, `${c.what}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.match(r.stderr, /^topocast: /);
      assert.ok(
        /c\.(yaml|json)|--set |--seed\b/.test(r.stderr),
        `${c.what}: names neither the file nor the --set`,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at .*:\d+:\d+\)?\n/, `${c.what}: a stack trace`);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      const raw = [...r.stderr].find((ch) => {
        const code = ch.codePointAt(0)!;
        return (code < 0x20 && code !== 0x0a) || code === 0x7f || code === 0xfffd;
      });
      assert.equal(raw, undefined, `${c.what}: a raw control byte reached the terminal`);
      assert.ok(r.stderr.split("\n").length <= 8, `${c.what}: ${r.stderr.split("\n").length} lines`);
    });
  });
});
