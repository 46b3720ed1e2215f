/**
 * Persona failover across substrates (issue 14): db runs in the cloud substrate, its caller web on premises; the
 * persona puts their pairs on virtual links over the first gateway; that gateway fails at 1 s. The persona policy
 * moves the pairs over the other gateway at once (onLinkDown: route pinned, then the virtual link re-created), so
 * they recover within the route's setup latency (measured: 10 ms), where shortest path waits for the default routes
 * to reconverge (500 ms). Target: every affected pair
 * flows again within convergence delay + 1 control interval.
 *
 *   onprem:n0 --- onprem:n1 (web)         gateways: onprem:n0 - cloud:n0 (fails at 1 s),
 *      |              |                             onprem:n2 - cloud:n1
 *   onprem:n3 --- onprem:n2               cloud: cloud:n0 (db) --- cloud:n1
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../../experiments/config/load.ts";
import { buildScenario } from "../../../experiments/scenario.ts";
import { pathLinkKeys } from "../../../models/policies/common.ts";
import { runPolicy } from "../../../sim/engine/run.ts";
import { personaWith } from "../personas/fixture.ts";

const MS = 1_000_000;
const FAIL_NS = 1000 * MS;
const CONVERGENCE_NS = 500 * MS;
const INTERVAL_NS = 100 * MS;
const GATEWAY = "onprem:n0->cloud:n0";

const DB = personaWith("db", [5432], {
  topology: "mesh",
  qos: { priority: 1, rateBps: 0, ceilBps: 0 },
  security: {
    allow: [{ peer: { kind: "app", name: "web" }, port: 5432, protocol: "tcp" }],
    defaultDeny: true,
    alertOn: [],
  },
  routing: "latency",
});

const CONFIG = `name: persona-failover
seed: 4
topology:
  links: {capacity: 1Gbps, delay: 1ms}
  substrates:
    - {name: onprem, generator: {kind: ring, n: 4}}
    - {name: cloud, generator: {kind: line, n: 2}}
  gateways:
    - {between: ["onprem:n0", "cloud:n0"], delay: 5ms, egressCostPerGB: 0.02}
    - {between: ["onprem:n2", "cloud:n1"], delay: 5ms, egressCostPerGB: 0.02}
workload:
  tm: {kind: uniform, rate: 20Mbps}
  window: {duration: 2s}
  applications:
    apps:
      - {name: web, instances: ["onprem:n1"], port: 8080}
      - {name: db, instances: ["cloud:n0"], port: 5432}
    calls:
      - {from: web, to: db, request: 1kB, response: 20kB}
    entries:
      - {app: web, requestsPerSecond: 200, clients: ["onprem:n3"], request: 1kB, response: 10kB}
failures:
  - {at: 1s, link: "${GATEWAY}", state: down}
control: {interval: 100ms, convergenceDelay: 500ms}
metrics: {interval: 100ms}
policies:
  - name: shortest-path
  - {name: persona, params: {personas: [${JSON.stringify(DB)}]}}
`;

describe("persona failover across substrates", () => {
  const sc = buildScenario(parseConfig(CONFIG, "failover.yaml", "/"), 0).scenario;
  const db = ["onprem:n1->cloud:n0", "cloud:n0->onprem:n1"];

  it("moves db's virtual links off the failed gateway at once: its pairs recover within convergence delay + 1 interval, before shortest path's", async () => {
    const [sp, persona] = (await Promise.all(sc.policies.map((p) => runPolicy(sc, p)))) as [
      Awaited<ReturnType<typeof runPolicy>>,
      Awaited<ReturnType<typeof runPolicy>>,
    ];
    const recovery = (r: typeof sp, pair: string) =>
      r.recoveries.find((x) => `${x.src}->${x.dst}` === pair && x.downNs === FAIL_NS)?.recoveryNs;
    for (const pair of db) {
      const p = recovery(persona, pair);
      const s = recovery(sp, pair);
      assert.ok(p !== undefined && p !== null, `${pair}: the persona's pair was hit and recovered (${p})`);
      assert.ok(p <= CONVERGENCE_NS + INTERVAL_NS, `${pair}: recovered in ${p / MS} ms`);
      assert.ok(s !== undefined && s !== null && p < s, `${pair}: before shortest path (${s! / MS} ms)`);
    }
    const events = (persona.policyEvents ?? []).filter((e) => e.kind === "persona-failover");
    // One event per failed direction (the failure takes the gateway down both ways), each at the failure.
    assert.deepEqual(
      events.map((e) => [e.timeNs, e.subject, (e.detail as { failed: number }).failed]),
      [
        [FAIL_NS, "db", 0],
        [FAIL_NS, "db", 0],
      ],
    );
    const moved = events.reduce((n, e) => n + (e.detail as { changes: number }).changes, 0);
    assert.equal(moved, 2, "both of db's pairs moved");
  });

  it("leaves no virtual link of db over the failed gateway", async () => {
    const r = await runPolicy(sc, sc.policies[1]!);
    const created = r.actions.filter((a) => a.verb === "createVirtualLink" && a.outcome === "ok");
    const after = created.filter((a) => a.timeNs >= FAIL_NS);
    assert.ok(after.length >= 2, "links re-created after the failure");
    for (const a of after) {
      const path = (a.args as unknown as { opts: { path: string[] } }).opts.path;
      assert.ok(
        !pathLinkKeys(path).includes(GATEWAY) && !pathLinkKeys(path).includes("cloud:n0->onprem:n0"),
        path.join(" "),
      );
    }
  });
});
