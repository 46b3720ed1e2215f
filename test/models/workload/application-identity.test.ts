import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppWorkload, type AppWorkloadSpec } from "../../../models/workload/applications.ts";
import { WorkloadError } from "../../../models/workload/errors.ts";
import type { FlowSink, FlowSpec } from "../../../models/workload/flow-sink.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";
import { chainRoute, chainTopology } from "./chain-topology.ts";

const topo = chainTopology;

/** frontend (web, port 443) -> store (db, port 5432), clients at users; store is frontend's dependency. */
function spec(identity: boolean): AppWorkloadSpec {
  return {
    apps: [
      {
        name: "frontend",
        instances: ["web"],
        ...(identity ? { version: "2.1", port: 443, dependencies: ["store"] } : {}),
      },
      { name: "store", instances: ["db"], ...(identity ? { port: 5432, protocol: "udp" as const } : {}) },
    ],
    calls: [{ from: "frontend", to: "store", requestBytes: 500, responseBytes: 50_000 }],
    entries: [
      { app: "frontend", ratePerSec: 50, clients: ["users"], requestBytes: 1_000, responseBytes: 9_000 },
    ],
  };
}

/** Runs the workload for 1 s and returns every flow spec it started, in order (with `ids`, each one's flow id). */
function specs(s: AppWorkloadSpec, ids: number[] = []): FlowSpec[] {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const seen: FlowSpec[] = [];
  const sink: FlowSink = {
    topology: topo,
    startFlow: (f) => {
      seen.push(f);
      const id = net.startFlow(f);
      ids.push(id);
      return id;
    },
  };
  const apps = new AppWorkload(sim, sink, trace, s, {
    streams: new RandomStreams(5),
    route: chainRoute,
    untilNs: 1_000_000_000,
  });
  apps.start();
  sim.run();
  return seen;
}

describe("applications with identity (version, port, protocol, dependencies)", () => {
  const flows = specs(spec(true));

  it("give every flow of an exchange the server's port and protocol, both directions", () => {
    const byApp = new Map<string, string>();
    for (const f of flows) byApp.set(f.application!, `${f.port ?? "-"}/${f.protocol}`);
    assert.deepEqual(Object.fromEntries([...byApp].sort()), {
      "client->frontend": "443/tcp",
      "frontend->client": "443/tcp",
      "frontend->store": "5432/udp",
      "store->frontend": "5432/udp",
    });
  });

  it("start the same flows, at the same times, as the spec without identity fields", () => {
    const plain = specs(spec(false));
    assert.ok(flows.length > 50, `${flows.length} flows`);
    const key = (f: FlowSpec) => `${f.src} ${f.dst} ${f.sizeBytes} ${f.tag} ${f.application}`;
    assert.deepEqual(plain.map(key), flows.map(key));
    assert.ok(plain.every((f) => f.port === undefined && f.protocol === "tcp"));
  });

  it("mark every request as awaiting a response, and each response with its request's flow", () => {
    const ids: number[] = [];
    const all = specs(spec(true), ids);
    const byId = new Map(all.map((f, i) => [ids[i]!, f]));
    let responses = 0;
    for (const f of all) {
      const ex = f.exchange;
      assert.ok(ex !== undefined, `${f.application}: every application flow is part of an exchange`);
      if (ex === "request") continue;
      responses++;
      const req = byId.get(ex.responseTo);
      assert.equal(req?.exchange, "request", `${f.application}: answers a request`);
      assert.deepEqual([req.src, req.dst], [f.dst, f.src], "back to the caller");
      assert.equal(req.application!.split("->").reverse().join("->"), f.application);
    }
    assert.ok(responses > 0 && 2 * responses <= all.length, `${responses} responses of ${all.length}`);
  });

  const bad: [string, (s: AppWorkloadSpec) => AppWorkloadSpec, RegExp][] = [
    [
      "a port out of range",
      (s) => ({ ...s, apps: [{ ...s.apps[0]!, port: 70_000 }, s.apps[1]!] }),
      /apps\[0\] \("frontend"\)\.port: expected an integer port 1\.\.65535, got 70000/,
    ],
    [
      "an unknown protocol",
      (s) => ({ ...s, apps: [s.apps[0]!, { ...s.apps[1]!, protocol: "sctp" as "udp" }] }),
      /apps\[1\] \("store"\)\.protocol: expected "tcp" or "udp", got "sctp"/,
    ],
    [
      "a dependency on an unknown app",
      (s) => ({ ...s, apps: [{ ...s.apps[0]!, dependencies: ["stor"] }, s.apps[1]!] }),
      /apps\[0\] \("frontend"\)\.dependencies\[0\]: unknown app "stor"/,
    ],
  ];
  for (const [what, edit, message] of bad) {
    it(`refuse ${what}, naming the app and field`, () => {
      assert.throws(
        () => specs(edit(spec(true))),
        (e: unknown) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }
});
