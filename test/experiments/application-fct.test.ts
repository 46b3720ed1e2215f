import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applicationFct } from "../../experiments/application-fct.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { runPolicy } from "../../sim/engine/run.ts";

const config = (apps: boolean) => `name: app-fct
seed: 2
topology: {generator: {kind: ring, n: 4}, links: {capacity: 1Gbps, delay: 1ms}}
workload:
  tm: {kind: uniform, rate: 20Mbps}
  window: {duration: 500ms}
${
  apps
    ? `  applications:
    apps:
      - {name: web, instances: [n0], port: 8080}
      - {name: db, instances: [n2], port: 5432}
    calls:
      - {from: web, to: db, request: 1kB, response: 20kB}
    entries:
      - {app: web, requestsPerSecond: 200, clients: [n1], request: 1kB, response: 50kB}
`
    : ""
}policies: [{name: shortest-path}]
`;

describe("FCT per application in summary.json", () => {
  it("splits the finished application flows by pair and by application, as the persona policy measures them", async () => {
    const sc = buildScenario(parseConfig(config(true), "a.yaml", "/"), 0).scenario;
    const r = await runPolicy(sc, sc.policies[0]!);
    const a = applicationFct(sc, r)!;
    assert.deepEqual(
      a.pairs.map((p) => p.name),
      ["client->web", "db->web", "web->client", "web->db"],
    );
    assert.deepEqual(
      a.applications.map((p) => p.name),
      ["client", "db", "web"],
    );
    const flows = (name: string) => [...a.pairs, ...a.applications].find((x) => x.name === name)!.flows;
    for (const p of a.pairs) assert.ok(p.flows > 0, p.name);
    const sum = (...names: string[]) => names.reduce((n, x) => n + flows(x), 0);
    assert.equal(
      flows("web"),
      sum("client->web", "db->web", "web->client", "web->db"),
      "every pair naming web",
    );
    assert.equal(flows("db"), sum("db->web", "web->db"));
    for (const s of [...a.pairs, ...a.applications]) {
      assert.ok(s.fctNs !== null && s.fctNs.p50 <= s.fctNs.p99 && s.fctNs.p99 <= s.fctNs.max, s.name);
      assert.ok(s.transferRateBps !== null && s.transferRateBps > 0 && s.transferRateBps <= 1e9, s.name);
    }
  });

  it("has no entry without applications", async () => {
    const sc = buildScenario(parseConfig(config(false), "b.yaml", "/"), 0).scenario;
    assert.equal(applicationFct(sc, await runPolicy(sc, sc.policies[0]!)), undefined);
  });
});
