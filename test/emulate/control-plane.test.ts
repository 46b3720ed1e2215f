/**
 * The emulation ControlPlane. Validation and the commands it issues are checked with a recording runner (no
 * root); the traffic tests (root) use real namespaces:
 *
 *     n0 ---- n1 ---- n2        line(3): a virtual link n0 => n2 along it
 *
 *     n0 ---- n1                ring(4): default n0 -> n2 goes through n1; setRoute pins it through n3
 *     |        |
 *     n3 ---- n2
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { UnsupportedInEmulationError } from "../../emulate/errors.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import {
  ControlError,
  LinkDownError,
  NoPathError,
  PoolExhaustedError,
  UnknownNodeError,
} from "../../models/policies/types.ts";
import { line, ring } from "../../sim/substrate/generators.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { offline as offlineIn } from "./fixtures/offline-control-plane.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-cp-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function offline(topo: Topology, vnaPoolSize = 8) {
  return offlineIn(topo, dir, vnaPoolSize);
}

describe("emulation control plane, offline", () => {
  const topo = ring(4, { capacityBps: 100e6, delayNs: 0 });

  it("the default path follows the static routes; paths lists least-delay alternatives", () => {
    const { ctl } = offline(topo);
    assert.deepEqual(ctl.defaultPath("n0", "n2"), ["n0", "n1", "n2"]);
    assert.deepEqual(ctl.paths("n0", "n2", 2), [
      ["n0", "n1", "n2"],
      ["n0", "n3", "n2"],
    ]);
  });

  it("virtual links created together send each phase to a namespace as one ip request", async () => {
    const { ctl, runner } = offline(topo);
    const ids = await Promise.all([
      ctl.createVirtualLink("n0", "n2", { path: ["n0", "n1", "n2"] }),
      ctl.createVirtualLink("n2", "n0", { path: ["n2", "n1", "n0"] }),
    ]);
    assert.deepEqual(ids, ["vl0:n0->n2", "vl1:n2->n0"]);
    const ipRequests = (ns: string) => runner.calls.filter((c) => c.argv[0] === "ip" && c.argv[2] === ns);
    // Three phases (tunnel routes, devices, interceptor), each one request for both links: one request per phase
    // where a namespace has lines in it (n1 only carries the routes; the ends all three).
    assert.equal(ipRequests("tcabc123-n1").length, 1);
    assert.equal(ipRequests("tcabc123-n0").length, 3);
    assert.match(ipRequests("tcabc123-n0")[1]!.input ?? "", /tcabc123-v0a[\s\S]*tcabc123-v1b/);
  });

  it("a virtual link pins tunnel routes, then adds the VXLAN devices and the interceptor rule at its source", async () => {
    const { ctl, runner } = offline(topo);
    const id = await ctl.createVirtualLink("n0", "n2", { path: ["n0", "n3", "n2"] });
    assert.equal(id, "vl0:n0->n2");
    const text = runner.text();
    assert.match(
      text,
      /link add name tcabc123-v0a address \S+ mtu 1450 type vxlan id 1000 local \S+ remote \S+ dstport 4789/,
    );
    // One interceptor, at the source: the link carries n0 -> n2 only, as in the simulator.
    assert.match(text, /rule add iif lo to 10\.213\.0\.3\/32 table 1000 priority 1000/);
    assert.doesNotMatch(text, /rule add iif lo to 10\.213\.0\.1\/32/);
    assert.equal(
      runner.calls.filter((c) => c.argv.includes("tcabc123-n3")).length,
      1,
      "transit n3 pins routes",
    );
    assert.equal(runner.calls.filter((c) => c.argv.includes("tcabc123-n1")).length, 0, "n1 is off the path");
    assert.deepEqual(ctl.vnaPool().get("n0"), { used: 1, capacity: 8 });
    assert.deepEqual(ctl.virtualLinks()[0]?.path, ["n0", "n3", "n2"]);
  });

  const failures: {
    name: string;
    act: (c: EmulationControlPlane) => Promise<unknown>;
    error: typeof ControlError;
    message: RegExp;
  }[] = [
    {
      name: "an unknown node",
      act: (c) => c.createVirtualLink("n0", "x9"),
      error: UnknownNodeError,
      message: /unknown node "x9"/,
    },
    {
      name: "a path that skips a link",
      act: (c) => c.createVirtualLink("n0", "n2", { path: ["n0", "n2"] }),
      error: NoPathError,
      message: /no link n0 -> n2/,
    },
    {
      name: "a path to elsewhere",
      act: (c) => c.setRoute({ src: "n0", dst: "n2" }, ["n0", "n1"]),
      error: NoPathError,
      message: /must lead from n0 to n2/,
    },
    {
      name: "a secure tunnel with no port to carry (no traffic agents, no securePorts)",
      act: (c) => c.createVirtualLink("n0", "n2", { secure: true }),
      error: UnsupportedInEmulationError,
      message: /secure virtual link needs the ports to tunnel/,
    },
    {
      name: "a mirror path that skips a link",
      act: (c) => c.mirror({ src: "n0", dst: "n2" }, ["n0", "n2"]),
      error: NoPathError,
      message: /no link n0 -> n2/,
    },
    {
      name: "a firewall rule for an unknown node",
      act: (c) => c.setFirewall({ action: "deny", src: "x9" }),
      error: UnknownNodeError,
      message: /unknown node "x9"/,
    },
    {
      name: "a probe along a non-path",
      act: (c) => c.probe(["n0", "n2"]),
      error: NoPathError,
      message: /no link n0 -> n2/,
    },
    {
      name: "removing an unknown virtual link",
      act: (c) => c.removeVirtualLink("vl9"),
      error: ControlError,
      message: /no virtual link "vl9"/,
    },
  ];
  for (const f of failures) {
    it(`${f.name} fails with ${f.error.name}`, async () => {
      const { ctl } = offline(topo);
      await assert.rejects(
        f.act(ctl),
        (e: unknown) => e instanceof f.error && f.message.test((e as Error).message),
      );
    });
  }

  it("a full VNA pool refuses the next virtual link", async () => {
    const { ctl } = offline(topo, 1);
    await ctl.createVirtualLink("n0", "n2");
    await assert.rejects(ctl.createVirtualLink("n0", "n1"), PoolExhaustedError);
  });

  it("QoS puts an htb class and a u32 filter on every egress of the pair's path", async () => {
    const { ctl, runner } = offline(topo);
    await ctl.setQos({ src: "n0", dst: "n2" }, { priority: 1, rateBps: 10e6 });
    const classes = runner
      .text()
      .match(/class replace dev (\S+) parent 1:1 classid 1:100 htb rate 10000000bit/g);
    assert.deepEqual(classes?.length, 2);
  });
});

describe("emulation control plane, on namespaces", async () => {
  const skip = await needs(["veth", "vxlan", "htb"], ["ping"]);

  /** TX packets of a device in a node's namespace. */
  async function txPackets(runId: string, node: string, dev: string): Promise<number> {
    const r = await exec(runId, node, ["ip", "-s", "-j", "link", "show", "dev", dev]);
    return JSON.parse(r.stdout)[0].stats64.tx.packets as number;
  }
  const routeDev = async (runId: string, node: string, dst: string) =>
    /dev (\S+)/.exec((await exec(runId, node, ["ip", "route", "get", dst])).stdout)?.[1];
  const ping = (runId: string, node: string, dst: string) =>
    exec(runId, node, ["ping", "-c", "5", "-i", "0.1", "-W", "1", dst]);

  it("a virtual link carries the pair's traffic, and its removal returns it to the default path", {
    skip,
  }, async () => {
    const run = await up(line(3, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const dst = run.nodes[2]!.addresses[0]!;
      const id = await ctl.createVirtualLink("n0", "n2");
      const vx = `${run.prefix}-v0a`;
      assert.equal(await routeDev(run.runId, "n0", dst), vx);
      const before = await txPackets(run.runId, "n0", vx);
      assert.equal((await ping(run.runId, "n0", dst)).code, 0);
      assert.ok((await txPackets(run.runId, "n0", vx)) - before >= 5, "the VXLAN device carried the pings");
      await ctl.removeVirtualLink(id);
      assert.equal(await routeDev(run.runId, "n0", dst), `${run.prefix}-e0a`);
      const e0 = await txPackets(run.runId, "n0", `${run.prefix}-e0a`);
      assert.equal((await ping(run.runId, "n0", dst)).code, 0);
      assert.ok((await txPackets(run.runId, "n0", `${run.prefix}-e0a`)) - e0 >= 5);
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });

  it("a failed cable is avoided by paths and virtual links at once, and by default routes after reconvergence", {
    skip,
  }, async () => {
    const run = await up(ring(4, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const dst = run.nodes[1]!.addresses[0]!;
      assert.deepEqual(ctl.defaultPath("n0", "n1"), ["n0", "n1"]);
      await ctl.setRoute({ src: "n3", dst: "n1" }, ["n3", "n0", "n1"]); // pinned across the cable
      const pinnedVia = async () =>
        (await exec(run.runId, "n0", ["ip", "route", "show", "table", "all"])).stdout
          .split("\n")
          .filter((l) => l.startsWith(`${dst} `) && l.includes("table") && l.includes(`${run.prefix}-e0a`))
          .length;
      assert.equal(await pinnedVia(), 1);
      await ctl.setLinkState("n0->n1", false);
      assert.equal(await pinnedVia(), 0, "the kernel flushes routes through a device that goes down");
      assert.equal(ctl.isLinkUp("n1->n0"), false);
      assert.deepEqual(ctl.paths("n0", "n1", 3), [["n0", "n3", "n2", "n1"]]);
      await assert.rejects(ctl.createVirtualLink("n0", "n1", { path: ["n0", "n1"] }), LinkDownError);
      assert.notEqual((await ping(run.runId, "n0", dst)).code, 0, "no route until reconvergence");
      await ctl.reconverge();
      assert.deepEqual(ctl.defaultPath("n0", "n1"), ["n0", "n3", "n2", "n1"]);
      assert.equal((await ping(run.runId, "n0", dst)).code, 0);
      await ctl.setLinkState("n0->n1", true);
      assert.equal(await pinnedVia(), 1, "the pinned route is back with the cable");
      await ctl.reconverge();
      assert.deepEqual(ctl.defaultPath("n0", "n1"), ["n0", "n1"]);
      assert.equal(await routeDev(run.runId, "n0", dst), `${run.prefix}-e0a`);
      assert.equal((await ping(run.runId, "n0", dst)).code, 0);
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });

  it("setRoute pins a pair to another path and null restores the default", { skip }, async () => {
    const run = await up(ring(4, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const dst = run.nodes[2]!.addresses[0]!;
      const viaN1 = await routeDev(run.runId, "n0", dst);
      await ctl.setRoute({ src: "n0", dst: "n2" }, ["n0", "n3", "n2"]);
      const viaN3 = await routeDev(run.runId, "n0", dst);
      assert.notEqual(viaN3, viaN1);
      assert.equal((await ping(run.runId, "n0", dst)).code, 0);
      await ctl.setRoute({ src: "n0", dst: "n2" }, null);
      assert.equal(await routeDev(run.runId, "n0", dst), viaN1);
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
