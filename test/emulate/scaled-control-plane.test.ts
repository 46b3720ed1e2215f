/**
 * The scaling decorator, checked against the emulation engine's former `ScaledControlPlane` (kept below as the
 * reference, verbatim but for its inner type): every verb, through either, makes the real emulation ControlPlane
 * (offline: a recording runner, no root) run the same commands, hold the same state and answer the same; virtual
 * links come back in simulated units. Then the unit rules themselves.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { EmulationControlPlane } from "../../emulate/control-plane.ts";
import {
  scaledControlPlane,
  scaleQuantity,
  scaling,
  unscaleObserved,
} from "../../emulate/scaled-control-plane.ts";
import type {
  ControlPlane,
  NodePath,
  Pair,
  QosSpec,
  VirtualLinkInfo,
  VirtualLinkOptions,
} from "../../models/policies/types.ts";
import type { Unit } from "../../models/policies/verb-table.ts";
import { ring } from "../../sim/substrate/generators.ts";
import { offline } from "./fixtures/offline-control-plane.ts";

/** The engine's class before the verb table (emulate/engine.ts), the reference behaviour. */
class ReferenceScaledControlPlane implements ControlPlane {
  constructor(
    private readonly ctl: ControlPlane & { virtualLinks(): VirtualLinkInfo[] },
    private readonly rateScale: number,
    private readonly activeFlows: (vl: string) => number,
  ) {}
  createVirtualLink(src: string, dst: string, opts: VirtualLinkOptions = {}) {
    const o = { ...opts };
    if (o.rateBps !== undefined) o.rateBps *= this.rateScale;
    return this.ctl.createVirtualLink(src, dst, o);
  }
  removeVirtualLink(id: string) {
    return this.ctl.removeVirtualLink(id);
  }
  setRoute(pair: Pair, path: NodePath | null) {
    return this.ctl.setRoute(pair, path);
  }
  mirror(pair: Pair, path: NodePath | null) {
    return this.ctl.mirror(pair, path);
  }
  setQos(pair: Pair, qos: QosSpec | null) {
    return this.ctl.setQos(
      pair,
      qos && qos.rateBps !== undefined ? { ...qos, rateBps: qos.rateBps * this.rateScale } : qos,
    );
  }
  setFirewall(rule: Parameters<ControlPlane["setFirewall"]>[0]) {
    return this.ctl.setFirewall(rule);
  }
  probe(path: NodePath) {
    return this.ctl.probe(path);
  }
  paths(src: string, dst: string, k: number): NodePath[] {
    return this.ctl.paths(src, dst, k);
  }
  defaultPath(src: string, dst: string): NodePath | null {
    return this.ctl.defaultPath(src, dst);
  }
  virtualLinks(): VirtualLinkInfo[] {
    return this.ctl.virtualLinks().map((v) => ({
      ...v,
      rateBps: v.rateBps === null ? null : v.rateBps / this.rateScale,
      activeFlows: this.activeFlows(v.id),
    }));
  }
}

const dir = mkdtempSync(join(tmpdir(), "topocast-scaled-cp-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const topo = ring(4, { capacityBps: 100e6, delayNs: 0 });
const f = { rateScale: 0.25, timeCompression: 4 };
const active = (id: string) => id.length;
const n0n2 = { src: "n0", dst: "n2" };

/** An offline emulation ControlPlane wrapped by `wrap`: what it ran and what it holds can be compared. */
function arrangement(wrap: (inner: EmulationControlPlane) => ControlPlane) {
  const { ctl, runner } = offline(topo, dir, 8, () => 0);
  const effect = () => ({
    commands: runner.text(),
    virtualLinks: ctl.virtualLinks(),
    routes: [...ctl.routes()],
  });
  return { ctl, effect, outer: wrap(ctl) };
}

const calls: { name: string; act: (c: ControlPlane) => unknown }[] = [
  { name: "a virtual link with a rate", act: (c) => c.createVirtualLink("n0", "n2", { rateBps: 40e6 }) },
  { name: "a virtual link without options", act: (c) => c.createVirtualLink("n0", "n2") },
  {
    name: "a virtual link on a path, best effort",
    act: (c) => c.createVirtualLink("n0", "n2", { path: ["n0", "n3", "n2"] }),
  },
  { name: "a QoS class with a rate", act: (c) => c.setQos(n0n2, { priority: 1, rateBps: 8e6 }) },
  { name: "a QoS class without a rate", act: (c) => c.setQos(n0n2, { priority: 2 }) },
  { name: "a QoS class removed", act: (c) => c.setQos(n0n2, null) },
  { name: "a route", act: (c) => c.setRoute(n0n2, ["n0", "n3", "n2"]) },
  { name: "a mirror", act: (c) => c.mirror(n0n2, ["n0", "n3", "n2"]) },
  { name: "a firewall rule", act: (c) => c.setFirewall({ action: "deny", src: "n0" }) },
  { name: "a probe", act: (c) => c.probe(["n0", "n1"]) },
  { name: "a removal of an unknown link", act: (c) => c.removeVirtualLink("vl9") },
  { name: "the paths query", act: (c) => c.paths("n0", "n2", 2) },
  { name: "the default path query", act: (c) => c.defaultPath("n0", "n2") },
];

async function outcome(run: () => unknown): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

describe("scaling, against the former ScaledControlPlane", () => {
  for (const c of calls) {
    it(`passes ${c.name} to the emulation control plane as the former class did`, async () => {
      const old = arrangement((inner) => new ReferenceScaledControlPlane(inner, f.rateScale, active));
      const now = arrangement((inner) => scaling(inner, f));
      const before = c.name.startsWith("a QoS") ? (x: ControlPlane) => x.setQos(n0n2, { priority: 0 }) : null;
      await before?.(old.outer);
      await before?.(now.outer);
      assert.deepEqual(await outcome(() => c.act(now.outer)), await outcome(() => c.act(old.outer)));
      assert.deepEqual(now.effect(), old.effect());
    });
  }

  it("reports virtual links in simulated units with the engine's active flows, as the former class did", async () => {
    const { ctl } = offline(topo, dir, 8, () => 0);
    const old = new ReferenceScaledControlPlane(ctl, f.rateScale, active);
    const now = scaledControlPlane(ctl, f, active);
    await now.createVirtualLink("n0", "n2", { rateBps: 40e6 });
    assert.equal(ctl.virtualLinks()[0]?.rateBps, 10e6, "the emulated link carries the scaled rate");
    assert.deepEqual(now.virtualLinks(), old.virtualLinks());
    assert.equal(now.virtualLinks()[0]?.rateBps, 40e6);
    assert.equal(now.virtualLinks()[0]?.activeFlows, active(now.virtualLinks()[0]!.id));
  });
});

describe("scaling's unit rules (r = 0.25, c = 4)", () => {
  const cases: { unit: Unit; simulated: number; emulated: number; why: string }[] = [
    { unit: "bps", simulated: 40e6, emulated: 10e6, why: "rates x r" },
    { unit: "bps", simulated: 1, emulated: 0.25, why: "rates are not rounded" },
    { unit: "ns", simulated: 10_000_000, emulated: 2_500_000, why: "durations / c" },
    { unit: "ns", simulated: 3, emulated: 1, why: "durations rounded to integer ns" },
    { unit: "bytes", simulated: 1_600_000, emulated: 100_000, why: "sizes x r / c" },
    { unit: "bytes", simulated: 3, emulated: 1, why: "a positive size stays at least one byte" },
    { unit: "bytes", simulated: 0, emulated: 0, why: "zero stays zero" },
  ];
  for (const c of cases) {
    it(`turns ${c.simulated} (${c.unit}) into ${c.emulated}: ${c.why}`, () => {
      assert.equal(scaleQuantity(c.unit, c.simulated, f), c.emulated);
    });
  }
});

describe("observed verbs back in simulated units", () => {
  it("multiplies RTTs by c, divides available and QoS rates by r, multiplies mirrored bytes by c / r, keeps the firewall's counts", () => {
    const g = { rateScale: 0.001, timeCompression: 0.1 };
    const firewall = {
      rules: [{ rule: { action: "deny" as const, src: "n0" }, flows: 2, bytes: 5000 }],
      refused: [{ src: "n0", dst: "n1", flows: 2, bytes: 5000 }],
    };
    const v = unscaleObserved(
      {
        probes: [
          { path: ["n0", "n1"], rttNs: 4e6, availableBps: 1e6, timeNs: 5 },
          { path: ["n0", "n1"], rttNs: null, availableBps: null, timeNs: 6 },
        ],
        mirrors: [{ src: "n0", dst: "n1", path: ["n0", "n1"], flows: 2, mirrorWins: 1, mirroredBytes: 1000 }],
        qos: [{ src: "n0", dst: "n1", priority: 1, rateBps: 10e3, ceilBps: null }],
        firewall,
      },
      g,
    );
    assert.deepEqual(v.qos, [{ src: "n0", dst: "n1", priority: 1, rateBps: 10e6, ceilBps: null }]);
    assert.deepEqual(v.firewall, firewall, "counted by the flow ledger in simulated bytes already");
    assert.deepEqual(v.probes, [
      { path: ["n0", "n1"], rttNs: 4e5, availableBps: 1e9, timeNs: 5 },
      { path: ["n0", "n1"], rttNs: null, availableBps: null, timeNs: 6 },
    ]);
    assert.deepEqual(v.mirrors[0], {
      src: "n0",
      dst: "n1",
      path: ["n0", "n1"],
      flows: 2,
      mirrorWins: 1,
      mirroredBytes: 100_000,
    });
  });
});
