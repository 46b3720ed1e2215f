import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../experiments/config/load.ts";
import { intentSatisfaction, requestsCsv, startupTrips } from "../../experiments/intent-satisfaction.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { runPolicy } from "../../sim/engine/run.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";

const EXAMPLE = join(REPO_ROOT, "experiments/configs/intent-mesh.yaml");
// A short window (3 played TM intervals of 1 s) and the failure inside it.
const SHORT = [
  "workload.window.duration=15min",
  'failures=[{at: 1s, link: "10->9", state: down}, {at: 2s, link: "10->9", state: up}]',
];

describe("the committed intent-mesh experiment", () => {
  const built = buildScenario(loadConfig(EXAMPLE, { set: SHORT }), 0);
  const topo = built.scenario.topology;

  it("adds one anycast node per service, reached one way from each instance, and the links' security and cost", () => {
    const attach = topo.links.filter((l) => topo.nodes[l.dst]!.id.startsWith("svc-"));
    assert.deepEqual(attach.map((l) => l.id).sort(), [
      "1->svc-web",
      "6->svc-vault",
      "6->svc-web",
      "7->svc-store",
      "8->svc-web",
      "9->svc-store",
      "9->svc-vault",
    ]);
    assert.ok(
      topo.links.every((l) => !topo.nodes[l.src]!.id.startsWith("svc-")),
      "no link leaves an anycast node",
    );
    const l = (id: string) => topo.links[topo.link(id)]!;
    assert.deepEqual([l("10->9").secure, l("10->9").egressCostPerGB, l("9->10").secure], [true, 0.05, true]);
    assert.deepEqual([l("0->2").secure, l("0->2").egressCostPerGB], [false, 0]);
  });

  it("sends each client's requests, of its fixed size, to its service's anycast node; the matrix never does", () => {
    const svc = new Set(topo.nodes.filter((n) => n.id.startsWith("svc-")).map((n) => n.index));
    const flows = scenarioSchedule(built.scenario).flows.filter((f) => svc.has(f.dst));
    const sizes = new Map<string, Set<number>>();
    for (const f of flows) {
      const k = `${topo.nodes[f.src]!.id}->${topo.nodes[f.dst]!.id}`;
      sizes.set(k, (sizes.get(k) ?? new Set()).add(f.sizeBytes));
    }
    assert.deepEqual(Object.fromEntries([...sizes].map(([k, s]) => [k, [...s]]).sort()), {
      "0->svc-store": [20e6],
      "0->svc-vault": [200e3],
      "10->svc-store": [20e6],
      "2->svc-store": [20e6],
      "2->svc-web": [20e3],
      "3->svc-web": [20e3],
      "5->svc-web": [20e3],
    });
    assert.equal(built.workload.intents?.clients.length, 7);
  });

  it("satisfies more intents with intent routing than with the nearest instance", async () => {
    const byLabel = new Map(built.scenario.policies.map((p) => [p.label, p]));
    const records = await runPolicy(built.scenario, byLabel.get("nearest-instance")!);
    const nearest = intentSatisfaction(built.scenario, built.workload.intents!, records);
    const ewma = intentSatisfaction(
      built.scenario,
      built.workload.intents!,
      await runPolicy(built.scenario, byLabel.get("intent-ewma")!),
    );
    // requests.csv: one row per request, its misses as the summary counts them (columns from the end: the intent is
    // quoted and holds commas).
    const rows = requestsCsv(built.scenario, built.workload.intents!, [records])
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
    assert.equal(rows.length, nearest.requests);
    assert.equal(rows.filter((r) => r.at(-1) === "").length, nearest.met);
    const vaultRows = rows.filter((r) => r[2] === "svc-vault");
    assert.ok(vaultRows.every((r) => r.at(-1)!.split(";").includes("security") && r.at(-3) === "false"));
    assert.ok(nearest.requests > 100 && nearest.requests === ewma.requests);
    assert.ok(ewma.met > nearest.met, `intent-ewma met ${ewma.met}, nearest-instance ${nearest.met}`);
    const vault = nearest.clients.find((c) => c.intent.includes("vault"))!;
    assert.equal(vault.missed.security, vault.requests, "the nearest vault is reached over an insecure link");
  });
});

describe("intent satisfaction", () => {
  const scenario = buildScenario(loadConfig(EXAMPLE, { set: SHORT }), 0).scenario;
  const cases = [
    { bytes: 1000, trips: 3 },
    { bytes: 14_480, trips: 3 },
    { bytes: 20_000, trips: 5 },
    { bytes: 20e6, trips: 23 },
  ];
  for (const c of cases) {
    it(`counts ${c.trips} one-way start-up trips in a ${c.bytes}-byte request (handshake, IW 10 x 1448 B)`, () => {
      assert.equal(startupTrips(scenario, c.bytes), c.trips);
    });
  }

  it("refuses an intent naming an unknown service, at its field", () => {
    assert.throws(
      () =>
        buildScenario(loadConfig(EXAMPLE, { set: [...SHORT, "intents.clients[0].intent=service=mail"] }), 0),
      (e: unknown) =>
        e instanceof ConfigError && /intents\.clients\[0\]\.intent: unknown service "mail"/.test(e.message),
    );
  });
});
