import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { isUserError } from "../../experiments/errors.ts";
import { flowRows } from "../../experiments/flows-csv.ts";
import { runExperiment } from "../../experiments/run-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import type { RunRecords } from "../../sim/engine/records.ts";
import { runPolicy } from "../../sim/engine/run.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";

const EXAMPLE = join(REPO_ROOT, "experiments/configs/applications.yaml");
const TEXT = readFileSync(EXAMPLE, "utf8");
const dir = mkdtempSync(join(tmpdir(), "topocast-applications-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Tags of a run's finished flows. */
function tags(r: RunRecords): number[] {
  return [...r.flows.byFlowId()].map((f) => f.tag);
}

describe("the committed applications example", () => {
  const built = buildScenario(loadConfig(EXAMPLE), 0);
  const n = built.scenario.topology.nodeCount;

  it("offers 200 requests per second of a frontend, cart and db, about 1,440 flows in its 1 s window", () => {
    assert.deepEqual(built.workload.applications, {
      apps: ["frontend", "cart", "db"],
      requestsPerSecond: 200,
      expectedRequests: 200,
      // Per request: client request and response, 2 cart calls x (2 + 0.3 x 2 db transfers) = 7.2 transfers.
      expectedFlows: 1440,
    });
  });

  for (const policy of built.scenario.policies) {
    it(`runs every application pair's flows beside the matrix's under ${policy.label}`, async () => {
      const r = await runPolicy(built.scenario, policy);
      const t = tags(r);
      const appTags = [...new Set(t.filter((x) => x >= n * n))].sort((a, b) => a - b);
      // cart->db, cart->frontend, client->frontend, db->cart, frontend->cart, frontend->client.
      assert.deepEqual(appTags, [36, 37, 38, 39, 40, 41]);
      const appFlows = t.filter((x) => x >= n * n).length;
      assert.ok(appFlows > 1200 && appFlows < 1700, `${appFlows} application flows, expected about 1,440`);
      assert.ok(
        t.some((x) => x < n * n),
        "the matrix's flows run too",
      );
      assert.equal(r.flowCounts.unfinished, 0);
    });
  }

  it("gives byte-identical flows for the same seed and run", async () => {
    const policy = built.scenario.policies[0]!;
    const a = await runPolicy(built.scenario, policy);
    const b = await runPolicy(buildScenario(loadConfig(EXAMPLE), 0).scenario, policy);
    const topo = built.scenario.topology;
    assert.equal(flowRows(a.flows, topo), flowRows(b.flows, topo));
  });

  it("writes profile.csv (metrics.profile): per application and interval, the bytes and flows that flows.csv holds", async () => {
    const out = await runExperiment(loadConfig(EXAMPLE), { out: join(dir, "profiled"), report: false });
    const apps = [
      "cart->db",
      "cart->frontend",
      "client->frontend",
      "db->cart",
      "frontend->cart",
      "frontend->client",
    ];
    const appOf = (tag: number) => (tag < n * n ? "tm" : apps[tag - n * n]!);
    const fromFlows = new Map<string, [number, number]>();
    for (const row of readFileSync(join(out.dir, "flows.csv"), "utf8").trim().split("\n").slice(1)) {
      const c = row.split(",");
      const k = `${c[0]} ${appOf(Number(c[11]))}`;
      const [b, f] = fromFlows.get(k) ?? [0, 0];
      fromFlows.set(k, [b + Number(c[4]), f + 1]);
    }
    const fromProfile = new Map<string, [number, number]>();
    const lines = readFileSync(join(out.dir, "profile.csv"), "utf8").trim().split("\n");
    assert.equal(lines[0], "policy,start_ns,end_ns,application,bytes,flows");
    for (const row of lines.slice(1)) {
      const [policy, start, end, app, bytes, flows] = row.split(",");
      assert.equal(Number(end) - Number(start), 100e6, row);
      const k = `${policy} ${app}`;
      const [b, f] = fromProfile.get(k) ?? [0, 0];
      fromProfile.set(k, [b + Number(bytes), f + Number(flows)]);
    }
    assert.equal(fromProfile.size, 2 * 7, "two policies x (tm + 6 application pairs)");
    assert.deepEqual([...fromProfile].sort(), [...fromFlows].sort());
  });

  it("leaves configs without applications as they were (no applications in their scenario or summary)", () => {
    const plain = buildScenario(loadConfig(join(REPO_ROOT, "experiments/configs/ci-ring.yaml")), 0);
    assert.equal(plain.scenario.applications, undefined);
    assert.equal("applications" in plain.workload, false);
  });
});

describe("bad applications in a config", () => {
  const cases: { what: string; from: string; to: string; message: RegExp }[] = [
    {
      what: "an instance on an unknown node",
      from: "instances: [n1]",
      to: "instances: [n9]",
      message:
        /bad\.yaml:30: workload\.applications\.apps\[1\]\.instances\[0\]: unknown topology node "n9"; ring/,
    },
    {
      what: "a call to an unknown application",
      from: "to: db,",
      to: "to: dbx,",
      message:
        /bad\.yaml:36: workload\.applications\.calls\[1\]\.to: unknown application "dbx"; known: cart, db/,
    },
    {
      what: "a cycle in the call graph",
      from: "from: cart, to: db,",
      to: "from: cart, to: frontend,",
      message: /workload\.applications\.calls: calls: the call graph has a cycle: cart -> frontend -> cart/,
    },
    {
      what: "clients without a response size",
      from: "        response: 200kB\n",
      to: "",
      message: /workload\.applications\.entries\[0\]\.response: required with clients/,
    },
    {
      what: "two applications of one name",
      from: "name: db",
      to: "name: cart",
      message: /workload\.applications\.apps\[2\]\.name: apps\[1\] and apps\[2\] are both "cart"/,
    },
    {
      what: "an application named like the clients",
      from: "name: db",
      to: "name: client",
      message: /workload\.applications\.apps\[2\]\.name: "client" names the external clients/,
    },
    {
      what: "a dependency on an unknown application",
      from: "instances: [n4]\n",
      to: "instances: [n4]\n        dependencies: [cart, dbx]\n",
      message:
        /workload\.applications\.apps\[2\]\.dependencies\[1\]: unknown application "dbx"; known: cart, db, frontend/,
    },
    {
      what: "a server port out of range",
      from: "instances: [n4]\n",
      to: "instances: [n4]\n        port: 70000\n",
      message: /workload\.applications\.apps\[2\]\.port: .*65535/,
    },
    {
      what: "a request rate given with a unit",
      from: "requestsPerSecond: 200",
      to: "requestsPerSecond: 200/s",
      message: /workload\.applications\.entries\[0\]\.requestsPerSecond: expected number/,
    },
    {
      what: "a size without a unit",
      from: "request: 2kB",
      to: "request: 2000",
      message: /workload\.applications\.calls\[0\]\.request: expected a size such as "1500B".*got 2000/,
    },
  ];
  for (const c of cases) {
    it(`are refused as user input naming the field for ${c.what}`, () => {
      assert.ok(TEXT.includes(c.from), `the example has no ${JSON.stringify(c.from)}`);
      const file = join(mkdtempSync(join(dir, "case-")), "bad.yaml");
      writeFileSync(file, TEXT.replace(c.from, c.to));
      let error: Error | undefined;
      try {
        buildScenario(loadConfig(file), 0);
      } catch (e) {
        error = e as Error;
      }
      assert.ok(error, "expected an error");
      assert.ok(isUserError(error), `expected a user error, got ${error.name}: ${error.message}`);
      assert.match(error.message, c.message);
    });
  }
});
