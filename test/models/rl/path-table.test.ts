/**
 * The sidecar's routing table (models/rl/path-table.ts, models/rl/path-mesh.ts): candidates, probe records, the
 * probe plan within a budget, and a lost probe making a path unusable (what triggers a failover).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Observation } from "../../../models/policies/types.ts";
import { MeshView } from "../../../models/rl/path-mesh.ts";
import { candidatePaths, PathTable, probePlan } from "../../../models/rl/path-table.ts";
import { setup } from "../../sim/control/fixture.ts";

function observation(c: ReturnType<typeof setup>): Observation {
  return {
    timeNs: 0,
    intervalNs: 10e6,
    nodes: ["a", "b", "s", "t", "u", "v"],
    traffic: [],
    links: c.topo.links.map((l) => ({
      id: l.id,
      src: c.topo.nodes[l.src]!.id,
      dst: c.topo.nodes[l.dst]!.id,
      up: true,
      capacityBps: l.capacityBps,
      utilization: 0,
      delayNs: l.delayNs,
    })),
    virtualLinks: [],
    routes: new Map(),
    vnaPool: new Map(),
    probes: [],
    mirrors: [],
  };
}

describe("path table", () => {
  it("lists the k shortest paths, then one-hop relays by delay, without duplicates or loops", () => {
    const c = setup();
    const obs = observation(c);
    // u -> v: the k shortest are u-s-a-t-v and u-s-b-t-v; relays via a or b repeat them, via s or t loop back.
    assert.deepEqual(
      candidatePaths(c.ctl, obs, "u", "v", { kPaths: 1, relays: 4 }).map((p) => p.join("")),
      ["usatv", "usbtv"],
    );
    assert.deepEqual(
      candidatePaths(c.ctl, obs, "s", "t", { kPaths: 4, relays: 0 }).map((p) => p.join("")),
      ["sat", "sbt"],
    );
  });

  it("plans current paths first, then the least recently probed candidates, within the budget", () => {
    const table = new PathTable();
    table.ingest([{ path: ["s", "a", "t"], rttNs: 4e6, availableBps: 1e9, timeNs: 5 }]);
    const pairs = [
      {
        current: ["s", "a", "t"],
        candidates: [
          ["s", "a", "t"],
          ["s", "b", "t"],
        ],
      },
      { current: ["u", "s", "a", "t", "v"], candidates: [["u", "s", "b", "t", "v"]] },
    ];
    assert.deepEqual(
      probePlan(pairs, table, 3).map((p) => p.join("")),
      ["sat", "usatv", "sbt"],
    );
    assert.equal(probePlan(pairs, table, 10).length, 4, "each path once");
  });

  it("keeps RON's latency EWMA (new sample weighted 0.1) and the loss EWMA", () => {
    const table = new PathTable();
    const path = ["s", "a", "t"];
    table.ingest([
      { path, rttNs: 10e6, availableBps: null, timeNs: 1 },
      { path, rttNs: 20e6, availableBps: null, timeNs: 2 },
      { path, rttNs: null, availableBps: null, timeNs: 3 },
    ]);
    const r = table.get(path);
    assert.equal(r.ewmaRttNs, 0.9 * 10e6 + 0.1 * 20e6);
    assert.equal(r.rttNs, 20e6);
    assert.equal(r.prevRttNs, 10e6);
    assert.equal(r.loss, 0.3);
    assert.equal(r.probes, 3);
  });

  it("makes a path unusable when its last probe was lost, and usable again when a later one is answered", () => {
    const c = setup();
    const obs = observation(c);
    const table = new PathTable();
    const path = ["s", "a", "t"];
    const view = () => new MeshView(obs, table, new Map());
    assert.equal(view().usable(path), true);
    table.ingest([{ path, rttNs: null, availableBps: null, timeNs: 1 }]);
    assert.equal(view().usable(path), false, "a lost probe: fail over");
    table.ingest([{ path, rttNs: 4e6, availableBps: 1e9, timeNs: 2 }]);
    assert.equal(view().usable(path), true);
    const down = { ...obs, links: obs.links.map((l) => (l.id === "a->t" ? { ...l, up: false } : l)) };
    assert.equal(new MeshView(down, table, new Map()).usable(path), false, "a down link: fail over");
  });
});
