/**
 * Per-application traffic in the Observation: the simulator counts every flow at its flow sink under its
 * application (an application pair, or "tm" for the traffic matrix), the emulator's flow ledger counts the
 * scheduled flows its agents start. On a tiny ring with two applications, web (at n0) calling db (at n2), and
 * clients at n1:
 *
 *   n0 --- n1        web at n0, db at n2, clients at n1;
 *   |       |        background: a uniform matrix between every pair
 *   n3 --- n2
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EmulationControlPlane } from "../../../emulate/control-plane.ts";
import { FlowLedger } from "../../../emulate/flow-ledger.ts";
import { parseConfig } from "../../../experiments/config/load.ts";
import { buildScenario } from "../../../experiments/scenario.ts";
import type { Observation, Policy } from "../../../models/policies/types.ts";
import { ApplicationTrafficCounter } from "../../../models/workload/application-traffic.ts";
import { runPolicy } from "../../../sim/engine/run.ts";
import { scenarioSchedule } from "../../../sim/engine/schedule.ts";
import type { EnginePolicy } from "../../../sim/engine/types.ts";

const RING = `name: two-apps
seed: 5
topology: {generator: {kind: ring, n: 4}, links: {capacity: 1Gbps, delay: 1ms}}
workload:
  tm: {kind: uniform, rate: 100Mbps}
  window: {duration: 500ms}
  applications:
    apps:
      - {name: web, instances: [n0]}
      - {name: db, instances: [n2]}
    calls:
      - {from: web, to: db, request: 1kB, response: 50kB}
    entries:
      - {app: web, requestsPerSecond: 100, clients: [n1], request: 1kB, response: 100kB}
policies: [{name: shortest-path, params: {weight: hops}}]
control: {interval: 100ms}
metrics: {interval: 100ms}
`;

function scenario() {
  return buildScenario(parseConfig(RING, "two-apps.yaml", "/"), 0).scenario;
}

/** The scenario's first policy, driven by a policy that keeps every observation. */
function observing(base: EnginePolicy, seen: Observation[]): EnginePolicy {
  const policy: Policy = {
    name: "observer",
    decide(obs) {
      seen.push(obs);
    },
  };
  return { ...base, label: "observer", controller: () => policy };
}

describe("per-application traffic in the Observation", () => {
  it("the simulator's per-application counts add up to the per-pair traffic of every interval", async () => {
    const sc = scenario();
    const seen: Observation[] = [];
    await runPolicy(sc, observing(sc.policies[0]!, seen));
    assert.ok(seen.length >= 5, `only ${seen.length} observations`);
    for (const obs of seen) {
      assert.ok(obs.applications, `no applications at ${obs.timeNs}`);
      const sums = new Map<string, { bytes: number; flows: number }>();
      for (const a of obs.applications) {
        const k = `${a.src}->${a.dst}`;
        const s = sums.get(k) ?? { bytes: 0, flows: 0 };
        sums.set(k, { bytes: s.bytes + a.bytes, flows: s.flows + a.flows });
      }
      assert.deepEqual(
        [...sums].sort(([a], [b]) => (a < b ? -1 : 1)),
        obs.traffic.map((t) => [`${t.src}->${t.dst}`, { bytes: t.bytes, flows: t.flows }]),
        `at ${obs.timeNs}`,
      );
    }
  });

  it("each application's flows run between its own nodes, and every application appears", async () => {
    const sc = scenario();
    const seen: Observation[] = [];
    await runPolicy(sc, observing(sc.policies[0]!, seen));
    const pairsOf = new Map<string, Set<string>>();
    for (const a of seen.flatMap((o) => o.applications ?? [])) {
      const s = pairsOf.get(a.application) ?? new Set();
      s.add(`${a.src}->${a.dst}`);
      pairsOf.set(a.application, s);
    }
    const expected: [string, string[]][] = [
      ["client->web", ["n1->n0"]],
      ["db->web", ["n2->n0"]],
      ["web->client", ["n0->n1"]],
      ["web->db", ["n0->n2"]],
    ];
    for (const [app, pairs] of expected) assert.deepEqual([...(pairsOf.get(app) ?? [])], pairs, app);
    assert.equal(pairsOf.get("tm")?.size, 12, "the matrix's flows between all 12 ordered pairs");
    assert.deepEqual([...pairsOf.keys()].sort(), ["client->web", "db->web", "tm", "web->client", "web->db"]);
  });

  it("the simulator reports each application's completions with their FCTs, as its flow records have them", async () => {
    const sc = scenario();
    const seen: Observation[] = [];
    const records = await runPolicy(sc, observing(sc.policies[0]!, seen));
    const completed = new Map<string, number>();
    for (const o of seen)
      for (const a of o.applicationFlows ?? []) {
        completed.set(a.application, (completed.get(a.application) ?? 0) + a.completed);
        assert.equal(a.refused, 0, "no firewall rule");
        if (a.completed > 0) assert.ok(a.p99FctNs! >= a.meanFctNs! && a.meanFctNs! > 0);
      }
    assert.deepEqual([...completed.keys()].sort(), [
      "client->web",
      "db->web",
      "tm",
      "web->client",
      "web->db",
    ]);
    const total = [...completed.values()].reduce((a, b) => a + b, 0);
    // Flows ending around the last observation may fall on either side of it (its step and their ends interleave).
    const last = seen.at(-1)!.timeNs;
    const ended = [...records.flows.byFlowId()].filter((f) => f.endNs <= last).length;
    assert.ok(Math.abs(total - ended) <= 2, `${total} completions, ${ended} flows ended by ${last} ns`);
  });

  it("the emulator's flow ledger counts the flows its agents start under their scheduled application", () => {
    const sc = scenario();
    const flows = scenarioSchedule(sc).flows.slice(0, 40);
    const ids = sc.topology.nodes.map((n) => n.id);
    // What the ledger asks of the control plane when a flow starts: no firewall rule, no mirror, the default path.
    const stub = {
      admits: () => true,
      applicationPort: () => undefined,
      mirrors: { of: () => undefined },
      pathNow: () => ({ path: null, virtualLink: null }),
    } as unknown as EmulationControlPlane;
    const ledger = new FlowLedger(sc.topology, flows, stub, 1);
    const counter = new ApplicationTrafficCounter(ids);
    // Each agent k ms late: the ledger keeps when each flow really started (scheduled start + lateness).
    for (const [k, f] of flows.slice(0, 30).entries()) {
      ledger.onReport({
        event: "start",
        id: f.id,
        dst: ids[f.dst]!,
        bytes: f.sizeBytes,
        startNs: 0,
        lateNs: k * 1e6,
      });
      counter.count(f.application, f.src, f.dst, f.sizeBytes);
    }
    assert.deepEqual(
      ledger.actualStarts(),
      new Map(flows.slice(0, 30).map((f, k) => [f.id, f.startNs + k * 1e6])),
    );
    const got = ledger.applicationTraffic(false);
    assert.ok(got.length > 0);
    assert.deepEqual(got, counter.take(true));
    assert.deepEqual(ledger.applicationTraffic(true), got, "a peek leaves them counted");
    assert.deepEqual(ledger.applicationTraffic(true), [], "a consuming read empties them");

    // Its profile per application: each started flow at its scheduled start, in 100 ms intervals.
    const prof = ledger.profile(100e6);
    assert.deepEqual(prof.applications, ["tm"]);
    const expected = new Map<number, [number, number]>();
    for (const f of flows.slice(0, 30)) {
      const k = Math.floor(f.startNs / 100e6);
      const [b, n] = expected.get(k) ?? [0, 0];
      expected.set(k, [b + f.sizeBytes, n + 1]);
    }
    assert.deepEqual(
      prof.intervals.filter((iv) => iv.flows[0]! > 0).map((iv) => [iv.index, [iv.bytes[0], iv.flows[0]]]),
      [...expected],
    );
  });
});
