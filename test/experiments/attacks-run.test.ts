/**
 * The sidecar mesh's attack workload in a simulator run (config `attacks`, sim/engine/attacks.ts): an attacker
 * without a certificate and a port scanner are detected by the sidecars' detector (models/security/ids.ts) and
 * blocked through setFirewall by identity (the node's unauthenticated workloads); the run's summary reports it per
 * policy; no benign flow is refused, not even the flagged nodes' own; rl-mesh stops relaying through the flagged nodes; the same config gives the same bytes; bad entries
 * are refused naming the field.
 *
 *     n0 - n1 - n2 - n3 - n4 - ... - n7 - n0   (ring of 8, 1 Gbit/s, 2 ms; attacker at n2, scanner at n3: pairs
 *     such as n1 -> n4 have a clean way around, the long one)
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { type RunOutcome, runExperiment } from "../../experiments/run-experiment.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-attacks-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const ATTACKS = `attacks:
  - { kind: unauthenticated, node: n2, targets: [n6], at: 300ms, duration: 1s, rate: 10 }
  - { kind: scan, node: n3, at: 500ms, duration: 1s, rate: 20 }`;

function config(name: string, attacks: string): string {
  return `name: ${name}
seed: 3
topology:
  generator: { kind: ring, n: 8 }
  links: { capacity: 1Gbps, delay: 2ms }
workload:
  tm: { kind: uniform }
  window: { duration: 1500ms }
  load: { targetMlu: 0.5, reference: hops }
policies:
  - name: shortest-path
  - { name: rl-mesh, params: { probeBudget: 60, relays: 2 } }
${attacks}
control:
  interval: 50ms
metrics:
  interval: 50ms
`;
}

async function run(name: string, attacks: string, out = name): Promise<RunOutcome> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, config(name, attacks));
  return runExperiment(loadConfig(file), { out: join(dir, out), report: false });
}

/** The intermediate nodes of both ways around the ring of 8 from n<s> to n<d>. */
function ringWays(s: number, d: number): string[][] {
  const way = (step: number) => {
    const out: string[] = [];
    for (let n = (s + step + 8) % 8; n !== d; n = (n + step + 8) % 8) out.push(`n${n}`);
    return out;
  };
  return [way(1), way(-1)];
}

/** Flows started per source node of one policy in flows.csv. */
function flowsBySource(outDir: string, policy: string): Map<string, number> {
  const lines = readFileSync(join(outDir, "flows.csv"), "utf8").trim().split("\n").slice(1);
  const m = new Map<string, number>();
  for (const l of lines) {
    const [p, , src] = l.split(",");
    if (p === policy) m.set(src!, (m.get(src!) ?? 0) + 1);
  }
  return m;
}

describe("attacks in a simulator run", () => {
  let attacked: RunOutcome;
  let quiet: RunOutcome;
  before(async () => {
    attacked = await run("attacked", ATTACKS);
    quiet = await run("quiet", "");
  });

  for (const policy of ["shortest-path", "rl-mesh"]) {
    for (const [src, kind] of [
      ["n2", "unauthenticated"],
      ["n3", "port-scan"],
    ] as const) {
      it(`${policy}: blocks ${src} (${kind}) within 2 s of its first attempt`, () => {
        const ids = attacked.summary.policies.find((p) => p.policy === policy)!.ids!;
        const b = ids.blocks.find((x) => x.src === src);
        assert.ok(b, `${src} blocked: ${JSON.stringify(ids.blocks)}`);
        assert.equal(b.kind, kind);
        assert.ok(b.timeToBlockNs > 0 && b.timeToBlockNs < 2e9, `time to block ${b.timeToBlockNs} ns`);
        assert.equal(b.blockedNs, b.detectedNs + 10e6, "in place after setFirewall's 10 ms");
      });
    }
    it(`${policy}: blocks the unauthenticated workloads only; no benign flow refused, the flagged nodes' included`, () => {
      const ids = attacked.summary.policies.find((p) => p.policy === policy)!.ids!;
      assert.deepEqual(ids.falsePositives, []);
      assert.deepEqual(ids.missed, []);
      assert.deepEqual(
        ids.blocks.map((b) => b.identity),
        ["unauthenticated", "unauthenticated"],
        "each block names the identity, not the node",
      );
      assert.ok(ids.attemptsBlocked > 0, "attempts after the block are refused by the firewall");
      assert.equal(ids.benignFlowsBlocked, 0, "benign flows refused");
      assert.equal(ids.benignBytesBlocked, 0);
      const a = flowsBySource(attacked.dir, policy);
      const q = flowsBySource(quiet.dir, policy);
      for (const n of ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"])
        assert.equal(a.get(n), q.get(n), `flows from ${n}`);
    });
  }

  it("rl-mesh pins no relay through a flagged node once it is flagged, where the ring has a way around", () => {
    const ids = attacked.summary.policies.find((p) => p.policy === "rl-mesh")!.ids!;
    const flagged = new Map(ids.blocks.map((b) => [b.src, b.detectedNs]));
    const lines = readFileSync(join(attacked.dir, "actions.csv"), "utf8").trim().split("\n").slice(1);
    let checked = 0;
    for (const l of lines) {
      const [policy, time, verb] = l.split(",");
      if (policy !== "rl-mesh" || verb !== "setRoute") continue;
      const args = l.slice(l.indexOf('"{') + 1, l.lastIndexOf('}"') + 1).replaceAll('""', '"');
      const path = (JSON.parse(args) as { path: string[] }).path;
      const risky = [...flagged].filter(([, at]) => Number(time) > at + 50e6).map(([n]) => n);
      const [s, d] = [Number(path[0]!.slice(1)), Number(path.at(-1)!.slice(1))];
      if (risky.length === 0 || risky.includes(`n${s}`) || risky.includes(`n${d}`)) continue;
      if (ringWays(s, d).every((way) => way.some((n) => risky.includes(n)))) continue;
      checked++;
      assert.ok(
        !path.slice(1, -1).some((n) => risky.includes(n)),
        `${path.join(">")} at ${time} ns relays through one of ${risky.join(", ")}`,
      );
    }
    assert.ok(checked > 0, "rl-mesh pinned routes with a way around after the detections");
    assert.equal(quiet.summary.policies[1]!.ids, undefined, "no attacks, no ids entry");
  });

  it("gives the same bytes on a second run", async () => {
    await run("attacked", ATTACKS, "attacked-again");
    for (const f of ["summary.json", "flows.csv", "actions.csv"]) {
      assert.equal(
        readFileSync(join(dir, "attacked", f), "utf8"),
        readFileSync(join(dir, "attacked-again", f), "utf8"),
        `${f} differs`,
      );
    }
  });
});

describe("bad attacks are refused, naming the entry and the value", () => {
  const cases = [
    {
      what: "an unknown node",
      attacks: "attacks: [{kind: scan, node: x9, at: 0s, duration: 1s, rate: 5}]",
      msg: /attacks\[0\]\.node: unknown node "x9"/,
    },
    {
      what: "an unknown kind",
      attacks: "attacks: [{kind: flood, node: n1, at: 0s, duration: 1s, rate: 5}]",
      msg: /attacks\[0\]\.kind/,
    },
    {
      what: "a rate of 0",
      attacks: "attacks: [{kind: scan, node: n1, at: 0s, duration: 1s, rate: 0}]",
      msg: /attacks\[0\]\.rate/,
    },
    {
      what: "a start after the traffic",
      attacks: "attacks: [{kind: scan, node: n1, at: 5s, duration: 1s, rate: 5}]",
      msg: /attacks\[0\]\.at: 5s is at or after the end/,
    },
    {
      what: "only itself as target",
      attacks: "attacks: [{kind: scan, node: n1, targets: [n1], at: 0s, duration: 1s, rate: 5}]",
      msg: /attacks\[0\]\.targets: no target other than/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.what}`, async () => {
      await assert.rejects(run(`bad-${c.what.replaceAll(" ", "-")}`, c.attacks), c.msg);
    });
  }
});
