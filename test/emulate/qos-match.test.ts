/**
 * QoS classes matched by application in emulation (emulate/qos.ts, emulate/commands.ts `htbMatchedClass`): a class
 * matched by a server port holds the pair's packets to that port (requests) and from it (responses, ACKs), plain
 * and inside a virtual link's VXLAN tunnel, ahead of the pair's class, which keeps the pair's other packets; its
 * removal leaves every namespace as before. Counted with htb's class counters (packets, not rates: not timed).
 *
 *     n0 ---- n1 ----> n2     (iperf3 servers on n2, ports 5201 and 5202; 20 Mbit/s)
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { down, exec, type UpResult, up } from "../../emulate/substrate.ts";
import type { QosMatch } from "../../models/policies/types.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { iperfGoodput, iperfServers } from "./fixtures/iperf.ts";
import { namespaceState } from "./fixtures/namespace-state.ts";
import { offline } from "./fixtures/offline-control-plane.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-qos-match-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const topo = line(3, { capacityBps: 20e6, delayNs: 0 });
const N1_N2 = { src: "n1", dst: "n2" };
const N2_N1 = { src: "n2", dst: "n1" };

describe("QoS classes matched by application, offline", () => {
  it("puts the filters in the matched table, linked before the pair filters, and removes the table with the last", async () => {
    const { ctl, runner } = offline(topo, dir);
    await ctl.setQos(N1_N2, { priority: 5 });
    await ctl.setQos(N1_N2, { priority: 0, rateBps: 2e6 }, { port: 7777, protocol: "udp" });
    const text = runner.text();
    assert.match(text, /filter add dev \S+ parent 1: protocol ip prio 1 handle 1: u32 divisor 1/);
    assert.match(
      text,
      /filter replace dev \S+ parent 1: protocol ip prio 1 handle 800::1 u32 link 1: match u32 0 0/,
    );
    const minor = ctl.qos.of("n1", "n2", { port: 7777, protocol: "udp" })!.minor;
    for (const [k, at] of [
      [0, "at 20"],
      [1, "at 22"],
      [2, "at 70"],
      [3, "at 72"],
    ] as const) {
      const handle = `1::${(minor + k * 0x400).toString(16)}`;
      assert.match(
        text,
        new RegExp(`handle ${handle} u32 ht 1: .*match u16 7777 0xffff ${at} flowid 1:${minor}`),
      );
    }
    assert.match(
      text,
      /handle 1::[0-9a-f]+ u32 ht 1: match ip src \S+ match ip dst \S+ match ip protocol 17 0xff/,
    );
    await ctl.setQos(N1_N2, null, { port: 7777, protocol: "udp" });
    assert.match(runner.text(), /filter del dev \S+ parent 1: protocol ip prio 1 handle 1: u32/);
    assert.deepEqual(
      ctl.qos.stats().map((q) => q.match ?? null),
      [null],
    );
  });
});

describe("QoS classes matched by application on namespaces", async () => {
  const skip = await needs(["veth", "vxlan", "htb", "u32"], ["iperf3"]);

  /** Packets each of the pair's classes sent on its egress devices (the class of `match`; none: the pair's). */
  async function sent(run: UpResult, ctl: EmulationControlPlane, pair: typeof N1_N2, match?: QosMatch) {
    const q = ctl.qos.of(pair.src, pair.dst, match)!;
    let packets = 0;
    for (const [, dev] of q.devs) {
      // This tc prints htb classes as text only: "class htb 1:<minor> ...", then " Sent <bytes> bytes <n> pkt".
      const r = await exec(run.runId, pair.src, ["tc", "-s", "class", "show", "dev", dev]);
      const m = new RegExp(`class htb 1:${q.minor} [^\\n]*\\n\\s*Sent \\d+ bytes (\\d+) pkt`).exec(r.stdout);
      packets += Number(m?.[1] ?? 0);
    }
    return packets;
  }

  it("holds the application's packets both ways, plain and tunnelled, and the pair's class the rest", {
    skip,
  }, async () => {
    const run = await up(topo, { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const addr = (i: number) => run.nodes[i]!.addresses[0]!;
      await iperfServers(run.runId, "n2", [5201, 5202]);
      const before = await namespaceState(run);
      await ctl.setQos(N1_N2, { priority: 5 });
      await ctl.setQos(N2_N1, { priority: 5 });
      await ctl.setQos(N1_N2, { priority: 0, rateBps: 2e6 }, { port: 5201, protocol: "tcp" });
      await ctl.setQos(N2_N1, { priority: 0, rateBps: 2e6 }, { port: 5201 });
      const transfer = (port: number) =>
        iperfGoodput(run.runId, { node: "n1", address: addr(1) }, { address: addr(2), port }, 1);
      const counts = async () => [
        await sent(run, ctl, N1_N2, { port: 5201, protocol: "tcp" }),
        await sent(run, ctl, N1_N2),
        await sent(run, ctl, N2_N1, { port: 5201 }),
        await sent(run, ctl, N2_N1),
      ];
      await transfer(5201);
      const [app, pair, appBack, pairBack] = await counts();
      assert.ok(app! > 500, `the application's data packets: ${app}`);
      assert.ok(pair! < app! / 20, `the pair's class: ${pair} (matched ${app})`);
      assert.ok(appBack! > 20, `its ACKs, from the server's port: ${appBack}`);
      assert.ok(pairBack! < appBack! / 4, `the reverse pair's class: ${pairBack} (matched ${appBack})`);
      await transfer(5202);
      const [app2, pair2] = await counts();
      assert.ok(app2! - app! < 50, `another port's packets skip the matched class: ${app2! - app!}`);
      assert.ok(pair2! - pair! > 500, `and go to the pair's class: ${pair2! - pair!}`);
      // Through a virtual link: the tunnelled filters match the inner headers.
      await ctl.createVirtualLink("n1", "n2", { path: ["n1", "n2"] });
      await transfer(5201);
      const [app3, pair3] = await counts();
      assert.ok(app3! - app2! > 500, `tunnelled application packets: ${app3! - app2!}`);
      assert.ok(pair3! - pair2! < (app3! - app2!) / 20, `tunnelled, not the pair's: ${pair3! - pair2!}`);
      await ctl.removeVirtualLink(ctl.virtualLinks()[0]!.id);
      for (const [p, m] of [
        [N1_N2, { port: 5201, protocol: "tcp" as const }],
        [N2_N1, { port: 5201 }],
        [N1_N2, undefined],
        [N2_N1, undefined],
      ] as const)
        await ctl.setQos(p, null, m);
      assert.equal(
        await namespaceState(run),
        before,
        "removing the classes leaves every namespace as before",
      );
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
