import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AppWorkload,
  type AppWorkloadOptions,
  type AppWorkloadSpec,
  CLIENT_APP,
} from "../../../models/workload/applications.ts";
import { WorkloadError } from "../../../models/workload/errors.ts";
import { TrafficProfiler, tagClassifier } from "../../../models/workload/profiler.ts";
import { Exponential, RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";
import { chainRoute, chainTopology } from "./chain-topology.ts";

const topo = chainTopology;
const route = chainRoute;

/** frontend (web) -> service (app) -> store (db), clients at users. */
const chain = (over: Partial<AppWorkloadSpec> = {}): AppWorkloadSpec => ({
  apps: [
    { name: "frontend", instances: ["web"] },
    { name: "service", instances: ["app"] },
    { name: "store", instances: ["db"] },
  ],
  calls: [
    { from: "frontend", to: "service", requestBytes: 1_000, responseBytes: 125_000 },
    { from: "service", to: "store", requestBytes: 500, responseBytes: 250_000 },
  ],
  entries: [
    { app: "frontend", ratePerSec: 10, clients: ["users"], requestBytes: 2_000, responseBytes: 125_000 },
  ],
  ...over,
});

function runApps(spec: AppWorkloadSpec, opts: Partial<AppWorkloadOptions> = {}, untilNs?: number) {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const starts: { t: number; src: string; dst: string; bytes: number }[] = [];
  const ends: { t: number; tag: number }[] = [];
  trace.on("flowStart", (e) =>
    starts.push({ t: e.timeNs, src: topo.nodes[e.src]!.id, dst: topo.nodes[e.dst]!.id, bytes: e.sizeBytes }),
  );
  trace.on("flowEnd", (r) => ends.push({ t: r.endNs, tag: r.tag }));
  const apps = new AppWorkload(sim, net, trace, spec, { streams: new RandomStreams(3), route, ...opts });
  apps.start();
  sim.run(untilNs);
  return { sim, trace, apps, starts, ends };
}

describe("applications and RPC call graphs", () => {
  it("name the application pairs of the call graph and its clients, sorted", () => {
    const { apps } = runApps(chain(), { maxRequests: 0 });
    assert.deepEqual(apps.appPairs, [
      "client->frontend",
      "frontend->client",
      "frontend->service",
      "service->frontend",
      "service->store",
      "store->service",
    ]);
    assert.equal(CLIENT_APP, "client");
  });

  it("run one request down the chain and back, each hop starting when the previous one's last byte arrives", () => {
    const { starts, apps } = runApps(chain(), { maxRequests: 1 });
    assert.deepEqual(
      starts.map((s) => `${s.src}->${s.dst} ${s.bytes}`),
      [
        "users->web 2000",
        "web->app 1000",
        "app->db 500",
        "db->app 250000",
        "app->web 125000",
        "web->users 125000",
      ],
    );
    // Each transfer takes size x 8 / 1 Gbit/s plus 1 ms of propagation over one link.
    const hop = (bytes: number) => Math.ceil(((bytes * 8) / 1e9) * 1e9) + 1_000_000;
    let t = starts[0]!.t;
    for (let i = 1; i < starts.length; i++) {
      t += hop(starts[i - 1]!.bytes);
      assert.ok(Math.abs(starts[i]!.t - t) <= 2, `hop ${i}: started at ${starts[i]!.t}, expected ${t}`);
    }
    const [done] = apps.completed;
    assert.equal(apps.completed.length, 1);
    assert.ok(Math.abs(done!.endNs - done!.startNs - (t + hop(125_000) - starts[0]!.t)) <= 2);
  });

  it("fan a call out to all its callees at once, and finish only when every call has returned", () => {
    const spec = chain({
      apps: [
        { name: "frontend", instances: ["web"] },
        { name: "service", instances: ["app"] },
        { name: "store", instances: ["db"] },
      ],
      calls: [
        { from: "frontend", to: "service", requestBytes: 1_000, responseBytes: 1_000, count: 3 },
        { from: "frontend", to: "store", requestBytes: 1_000, responseBytes: 500_000 },
      ],
      entries: [{ app: "frontend", ratePerSec: 10 }],
    });
    const { starts, apps } = runApps(spec, { maxRequests: 1 });
    const requests = starts.filter((s) => s.src === "web");
    assert.equal(requests.length, 4);
    assert.ok(requests.every((s) => s.t === requests[0]!.t));
    const lastResponse = Math.max(...starts.filter((s) => s.dst === "web").map((s) => s.t));
    assert.ok(apps.completed[0]!.endNs > lastResponse, "the request ends after the slowest call returns");
  });

  it("exchange data between instances on one node without flows", () => {
    const spec = chain({
      apps: [
        { name: "frontend", instances: ["web"] },
        { name: "service", instances: ["web"] },
        { name: "store", instances: ["db"] },
      ],
    });
    const { starts, apps } = runApps(spec, { maxRequests: 1 });
    assert.deepEqual(
      starts.map((s) => `${s.src}->${s.dst}`),
      ["users->web", "web->db", "db->web", "web->users"],
    );
    assert.equal(apps.completed.length, 1);
  });

  it("make calls at the entry rate times fan-out times probability", () => {
    const spec: AppWorkloadSpec = {
      apps: [
        { name: "frontend", instances: ["web"] },
        { name: "cache", instances: ["app"] },
        { name: "store", instances: ["db"] },
      ],
      calls: [
        { from: "frontend", to: "cache", requestBytes: 100, responseBytes: 1_000, count: 2 },
        {
          from: "cache",
          to: "store",
          requestBytes: 100,
          responseBytes: new Exponential(10_000),
          probability: 0.25,
        },
      ],
      entries: [{ app: "frontend", ratePerSec: 100 }],
    };
    const { starts, apps } = runApps(spec, { untilNs: 100e9 });
    const n = apps.requestsStarted; // Poisson, mean 10,000: relative sd 1%
    assert.ok(Math.abs(n / 10_000 - 1) < 0.04, `${n} requests in 100 s at 100/s`);
    const toCache = starts.filter((s) => s.src === "web").length;
    const toStore = starts.filter((s) => s.src === "app" && s.dst === "db").length;
    assert.equal(toCache, 2 * n);
    // Binomial(2n, 0.25): relative sd 1.2%.
    assert.ok(Math.abs(toStore / (0.25 * 2 * n) - 1) < 0.05, `${toStore} store calls for ${n} requests`);
  });

  it("follow a piecewise rate scale, with no requests while it is zero", () => {
    // The store makes no calls and has no clients, so requests make no flows: only arrivals are counted.
    const spec = chain({
      entries: [{ app: "store", ratePerSec: 1000, rateScale: { intervalNs: 10e9, factors: [1, 0, 3] } }],
    });
    const { apps, starts: flows } = runApps(spec, {});
    assert.equal(flows.length, 0);
    const starts = apps.completed.map((r) => r.startNs);
    const inWindow = (a: number, b: number) => starts.filter((t) => t >= a && t < b).length;
    assert.equal(inWindow(10e9, 20e9), 0);
    assert.equal(inWindow(30e9, Number.POSITIVE_INFINITY), 0);
    // Poisson means 10,000 and 30,000: relative sd 1% and 0.6%.
    assert.ok(Math.abs(inWindow(0, 10e9) / 10_000 - 1) < 0.04, `${inWindow(0, 10e9)}`);
    assert.ok(Math.abs(inWindow(20e9, 30e9) / 30_000 - 1) < 0.03, `${inWindow(20e9, 30e9)}`);
  });

  it("tag flows by application pair, so the profiler reports bytes per application pair", () => {
    const sim = new Simulator();
    const trace = new TraceBus();
    const net = new FlowNetwork(sim, topo, trace);
    const apps = new AppWorkload(sim, net, trace, chain(), {
      streams: new RandomStreams(1),
      route,
      tagBase: 100,
      maxRequests: 5,
    });
    const profiler = new TrafficProfiler(sim, trace, {
      intervalNs: 10e9,
      pairs: apps.appPairs,
      classify: tagClassifier(apps.appPairs.length, apps.tagBase),
      on: "flowEnd",
    });
    apps.start();
    sim.run();
    profiler.flush();
    const bytes = new Map(
      apps.appPairs.map((p, k) => [p, profiler.intervals.reduce((a, iv) => a + iv.bytes[k]!, 0)]),
    );
    assert.deepEqual(Object.fromEntries(bytes), {
      "client->frontend": 5 * 2_000,
      "frontend->client": 5 * 125_000,
      "frontend->service": 5 * 1_000,
      "service->frontend": 5 * 125_000,
      "service->store": 5 * 500,
      "store->service": 5 * 250_000,
    });
  });

  const errors: [string, Partial<AppWorkloadSpec>, RegExp][] = [
    [
      "a cycle in the call graph",
      {
        calls: [
          { from: "frontend", to: "service", requestBytes: 1, responseBytes: 1 },
          { from: "service", to: "store", requestBytes: 1, responseBytes: 1 },
          { from: "store", to: "frontend", requestBytes: 1, responseBytes: 1 },
        ],
      },
      /calls: the call graph has a cycle: frontend -> service -> store -> frontend/,
    ],
    [
      "a call to an unknown app",
      { calls: [{ from: "frontend", to: "servce", requestBytes: 1, responseBytes: 1 }] },
      /calls\[0\] \(frontend->servce\)\.to: unknown app "servce"; closest: "service"/,
    ],
    [
      "an instance on an unknown node",
      {
        apps: [
          { name: "frontend", instances: ["wbe"] },
          { name: "service", instances: ["app"] },
          { name: "store", instances: ["db"] },
        ],
      },
      /apps\[0\] \("frontend"\)\.instances\[0\]: "wbe" is not a node of topology "dc"; closest: "web"/,
    ],
    [
      "a duplicate app",
      {
        apps: [
          { name: "store", instances: ["web"] },
          { name: "store", instances: ["db"] },
        ],
      },
      /apps\[1\] \("store"\): duplicate app name/,
    ],
    [
      "the reserved name client",
      { apps: [{ name: "client", instances: ["web"] }] },
      /apps\[0\] \("client"\): name must be non-empty, not "client"/,
    ],
    [
      "a probability above 1",
      { calls: [{ from: "frontend", to: "service", requestBytes: 1, responseBytes: 1, probability: 1.5 }] },
      /calls\[0\] \(frontend->service\)\.probability: expected a number in \(0, 1\], got 1\.5/,
    ],
    [
      "a zero request size",
      { calls: [{ from: "frontend", to: "service", requestBytes: 0, responseBytes: 1 }] },
      /calls\[0\] \(frontend->service\)\.requestBytes: expected a size > 0 bytes or a distribution, got 0/,
    ],
    [
      "clients without message sizes",
      { entries: [{ app: "frontend", ratePerSec: 1, clients: ["users"] }] },
      /entries\[0\] \("frontend"\): clients need requestBytes and responseBytes/,
    ],
    [
      "a zero entry rate",
      { entries: [{ app: "frontend", ratePerSec: 0 }] },
      /entries\[0\] \("frontend"\)\.ratePerSec: expected a rate > 0 per second, got 0/,
    ],
  ];
  for (const [name, over, message] of errors) {
    it(`refuse ${name}, naming where it is`, () => {
      assert.throws(
        () => runApps(chain(over), { maxRequests: 0 }),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }
});
