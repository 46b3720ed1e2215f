/**
 * Which port each application's flows go to in emulation, and where the agents listen (emulate/application-ports.ts):
 * declared server ports for both directions of an exchange, generated ports for the rest (skipping declared ones),
 * declared ports listened on only at the server's instances. No root needed.
 *
 *   n0 ---- n1 ---- n2      web (TCP 8080) at n1 calls db (TCP 5202, inside the generated range) at n2; cache
 *                           (no port) at n2; clients at n0
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applicationPorts, declaredPorts, listenPorts } from "../../emulate/application-ports.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { type AppWorkloadSpec, applicationPairs } from "../../models/workload/applications.ts";
import { line } from "../../sim/substrate/generators.ts";

const topo = line(3, { capacityBps: 1e9, delayNs: 1_000_000 });
const spec: AppWorkloadSpec = {
  apps: [
    { name: "web", instances: ["n1"], port: 8080, dependencies: ["db"] },
    { name: "db", instances: ["n2"], port: 5202 },
    { name: "cache", instances: ["n2"] },
  ],
  calls: [
    { from: "web", to: "db", requestBytes: 300, responseBytes: 2000 },
    { from: "web", to: "cache", requestBytes: 100, responseBytes: 100 },
  ],
  entries: [{ app: "web", ratePerSec: 10, clients: ["n0"], requestBytes: 1000, responseBytes: 5000 }],
};

describe("application ports in emulation", () => {
  it("gives both directions of an exchange its server's declared port", () => {
    assert.deepEqual(declaredPorts(spec), {
      "client->web": 8080,
      "db->web": 5202,
      "web->client": 8080,
      "web->db": 5202,
    });
  });

  it("generates ports for applications without one, skipping declared ports", () => {
    const ports = applicationPorts(["tm", ...applicationPairs(spec)], 5201, declaredPorts(spec));
    assert.deepEqual(ports, {
      tm: 5201,
      "client->web": 8080,
      "db->web": 5202,
      "web->client": 8080,
      "web->db": 5202,
      "cache->web": 5203,
      "web->cache": 5204,
    });
  });

  it("listens on declared ports only at the server's instances (TCP or UDP), on generated ports everywhere", () => {
    const ports = applicationPorts(["tm", ...applicationPairs(spec)], 5201, declaredPorts(spec));
    const udp = {
      ...spec,
      apps: [...spec.apps, { name: "game", instances: ["n0"], port: 7777, protocol: "udp" as const }],
    };
    assert.deepEqual(listenPorts(topo, ports, udp), [
      { tcp: [5203, 5204], udp: [7777] },
      { tcp: [5203, 5204, 8080], udp: [] },
      { tcp: [5202, 5203, 5204], udp: [] },
    ]);
  });

  const refusals: { name: string; run: () => unknown; message: RegExp }[] = [
    {
      name: "a declared port equal to the matrix's port",
      run: () => applicationPorts(["tm"], 8080, { "client->web": 8080 }),
      message: /client->web declares port 8080, the agents' port for the traffic matrix/,
    },
    {
      name: "a UDP application without a port",
      run: () =>
        listenPorts(topo, {}, { ...spec, apps: [{ name: "game", instances: ["n0"], protocol: "udp" }] }),
      message: /apps\[0\] \(game\): a UDP application needs a port to be emulated/,
    },
  ];
  for (const r of refusals)
    it(`refuses ${r.name}`, () => {
      assert.throws(r.run, (e: unknown) => e instanceof EmulationError && r.message.test(e.message));
    });
});
