/**
 * setFirewall in emulation: nftables rules at the sources refuse a denied pair's new connections, count them, leave
 * every other pair alone, and the flow ledger records the denied flows.
 *
 *     n0 ---- n1 ---- n2        line(3): deny n0 -> n2; n1 -> n2 and n2 -> n0 unaffected
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { applicationPorts } from "../../emulate/application-ports.ts";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { UnsupportedInEmulationError } from "../../emulate/errors.ts";
import { type FirewallTarget, firewallLines } from "../../emulate/firewall.ts";
import { FlowLedger } from "../../emulate/flow-ledger.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import { type FirewallRule, UnknownNodeError } from "../../models/policies/types.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { offline } from "./fixtures/offline-control-plane.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-fw-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const topo = line(3, { capacityBps: 100e6, delayNs: 0 });

describe("firewall rules, offline", () => {
  const lines: { rule: FirewallRule; target: FirewallTarget; want: string }[] = [
    {
      rule: { action: "deny", dst: "n2" },
      target: { srcAddr: "10.0.0.1", dstAddr: "10.0.0.3" },
      want: 'ip saddr 10.0.0.1 ip daddr 10.0.0.3 meta l4proto tcp tcp flags & (syn | ack) == syn counter reject with tcp reset comment "fw4"',
    },
    {
      rule: { action: "allow", port: 7000 },
      target: { srcAddr: "10.0.0.1", port: 7000 },
      want: 'ip saddr 10.0.0.1 meta l4proto tcp th dport 7000 tcp flags & (syn | ack) == syn counter accept comment "fw4"',
    },
    {
      rule: { action: "deny", application: "game->db", protocol: "tcp" },
      target: { srcAddr: "10.0.0.1", port: 5202 },
      want: 'ip saddr 10.0.0.1 meta l4proto tcp th dport 5202 tcp flags & (syn | ack) == syn counter reject with tcp reset comment "fw4"',
    },
    {
      rule: { action: "deny", protocol: "udp", port: 53 },
      target: { srcAddr: "10.0.0.1", port: 53 },
      want: 'ip saddr 10.0.0.1 meta l4proto udp th dport 53 counter reject comment "fw4"',
    },
    {
      rule: { action: "deny", src: "n1", identity: "unauthenticated" },
      target: { srcAddr: "10.0.0.1" },
      want: 'ip saddr 10.0.0.1 meta skuid != 0 meta l4proto tcp tcp flags & (syn | ack) == syn counter reject with tcp reset comment "fw4"',
    },
    {
      rule: { action: "deny", protocol: "udp" },
      target: { srcAddr: "10.0.0.1", vxlanPort: 4789 },
      want: 'ip saddr 10.0.0.1 meta l4proto udp th dport != 4789 counter reject comment "fw4"',
    },
  ];
  for (const c of lines) {
    it(`rule ${JSON.stringify(c.rule)} becomes one nft rule inserted first, counted, with its verdict`, () => {
      assert.deepEqual(firewallLines("tcabc123_fw", 4, c.rule, c.target), [
        "add table inet tcabc123_fw",
        "add chain inet tcabc123_fw out { type filter hook output priority 0; policy accept; }",
        `insert rule inet tcabc123_fw out ${c.want}`,
      ]);
    });
  }

  it("refuses a UDP rule on the VXLAN port (the run's own tunnels)", () => {
    assert.throws(
      () =>
        firewallLines(
          "t",
          0,
          { action: "deny", protocol: "udp", port: 4789 },
          { srcAddr: "10.0.0.1", port: 4789 },
        ),
      UnsupportedInEmulationError,
    );
  });

  it("refuses a SPIFFE identity (the sidecars refuse it, not nftables)", () => {
    assert.throws(
      () =>
        firewallLines(
          "t",
          0,
          { action: "deny", identity: "spiffe://topocast/web/0" },
          { srcAddr: "10.0.0.1" },
        ),
      UnsupportedInEmulationError,
    );
  });

  it("an identity rule denies no flow of the agents (they carry no identity), only what names it", async () => {
    const { ctl } = offline(topo, dir);
    await ctl.setFirewall({ action: "deny", src: "n0", identity: "unauthenticated" });
    assert.equal(ctl.firewall.denies("n0", "n2", { port: 5201, protocol: "tcp" }), false);
    assert.equal(ctl.firewall.denies("n0", "n2", { port: 15443, identity: "unauthenticated" }), true);
    assert.equal(ctl.firewall.denies("n1", "n2", { port: 15443, identity: "unauthenticated" }), false);
    assert.deepEqual(ctl.firewall.deniedPairs(), []);
  });

  const cases: { rules: { action: "allow" | "deny"; src?: string; dst?: string }[]; denied: string[] }[] = [
    { rules: [], denied: [] },
    { rules: [{ action: "deny", src: "n0", dst: "n2" }], denied: ["n0->n2"] },
    { rules: [{ action: "deny", dst: "n2" }], denied: ["n0->n2", "n1->n2"] },
    {
      rules: [
        { action: "deny", dst: "n2" },
        { action: "allow", src: "n1", dst: "n2" },
      ],
      denied: ["n0->n2"],
    },
    {
      rules: [
        { action: "allow", src: "n1", dst: "n2" },
        { action: "deny", dst: "n2" },
      ],
      denied: ["n0->n2", "n1->n2"],
    },
  ];
  for (const c of cases) {
    it(`rules ${JSON.stringify(c.rules)} deny ${c.denied.join(", ") || "nothing"} (the last matching rule decides)`, async () => {
      const { ctl, runner } = offline(topo, dir);
      for (const r of c.rules) await ctl.setFirewall(r);
      assert.deepEqual(ctl.firewall.deniedPairs(), c.denied);
      const nsWithRules = new Set(runner.calls.map((x) => x.argv[3]));
      for (const r of c.rules) if (r.src) assert.ok(nsWithRules.has(`tcabc123-${r.src}`));
    });
  }

  it("rules set at once go in together: one transaction per namespace, in the order they were set", async () => {
    const { ctl, runner } = offline(topo, dir);
    await Promise.all([
      ctl.setFirewall({ action: "deny", dst: "n2" }),
      ctl.setFirewall({ action: "allow", src: "n1", dst: "n2" }),
    ]);
    const atN1 = runner.calls
      .filter((c) => c.argv[3] === "tcabc123-n1")
      .map((c) => [...(c.input ?? "").matchAll(/comment "(fw\d)"/g)].map((m) => m[1]));
    assert.deepEqual(atN1, [["fw0", "fw1"]], "the default deny never stands alone at n1");
    await ctl.setFirewall({ action: "deny", src: "n1", dst: "n2" });
    assert.equal(
      runner.calls.filter((c) => c.argv[3] === "tcabc123-n1").length,
      2,
      "a later rule: a transaction of its own",
    );
  });

  it("refuses an unknown node before touching any namespace", async () => {
    const { ctl, runner } = offline(topo, dir);
    await assert.rejects(ctl.setFirewall({ action: "deny", src: "x" }), UnknownNodeError);
    assert.equal(runner.calls.length, 0);
  });

  it("a rule by application matches its port; the ledger refuses exactly that application's flows", async () => {
    const { ctl, state, runner } = offline(topo, dir);
    state.applicationPorts = applicationPorts(["tm", "game->db", "web->db"], 5201);
    assert.deepEqual(state.applicationPorts, { tm: 5201, "game->db": 5202, "web->db": 5203 });
    await ctl.setFirewall({ action: "deny", application: "game->db" });
    await ctl.setFirewall({ action: "deny", application: "not-in-this-run" });
    assert.match(runner.text(), /th dport 5202 .* reject with tcp reset comment "fw0"/);
    assert.doesNotMatch(runner.text(), /comment "fw1"/, "an application without a port installs nothing");
    const flows = ["game->db", "web->db", "tm", "game->db"].map((application, id) => ({
      id,
      src: 0,
      dst: 2,
      sizeBytes: 1000,
      startNs: 0,
      tag: 0,
      application,
    }));
    const ledger = new FlowLedger(topo, flows, ctl, 1);
    for (const f of flows)
      ledger.onReport({ event: "start", id: f.id, dst: "x", bytes: f.sizeBytes, startNs: 0, lateNs: 0 });
    assert.equal(ledger.denied, 2, "both game flows, and only they");
    assert.equal(ledger.activeFlows(), 2);
  });

  it("the flow ledger records a denied pair's flows as denied, counted in the traffic, never active", async () => {
    const { ctl } = offline(topo, dir);
    await ctl.setFirewall({ action: "deny", src: "n0", dst: "n2" });
    const flows = [
      { id: 0, src: 0, dst: 2, sizeBytes: 1000, startNs: 0, tag: 0, application: "tm" },
      { id: 1, src: 1, dst: 2, sizeBytes: 500, startNs: 0, tag: 0, application: "tm" },
    ];
    const ledger = new FlowLedger(topo, flows, ctl, 1);
    for (const f of flows)
      ledger.onReport({ event: "start", id: f.id, dst: "x", bytes: f.sizeBytes, startNs: 0, lateNs: 0 });
    ledger.onReport({ event: "flow-error", id: 0, error: "ECONNREFUSED" });
    assert.equal(ledger.denied, 1);
    assert.equal(ledger.failed, 0, "the refused connection is the denial, not a failure");
    assert.deepEqual(ledger.flowErrors, { "denied by firewall": 1 });
    assert.deepEqual(ledger.activePairs(), [1 * 3 + 2]);
    assert.deepEqual(
      ledger.traffic(true).map((t) => [t.src, t.dst, t.flows]),
      [
        ["n0", "n2", 1],
        ["n1", "n2", 1],
      ],
    );
    ledger.onReport({ event: "flow", id: 1, dst: "x", bytes: 500, startNs: 0, fctNs: 1 });
    assert.equal(ledger.done, true);
  });
});

describe("firewall on namespaces", async () => {
  const skip = await needs(["veth", "nftables"], ["iperf3", "nft"]);

  it("refuses every connection of a denied pair, counts them, affects no other pair, and an allow lifts it", {
    skip,
  }, async () => {
    const run = await up(topo, { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const addr = (i: number) => run.nodes[i]!.addresses[0]!;
      await exec(run.runId, "n2", ["iperf3", "-s", "-D", "-B", addr(2)]);
      await exec(run.runId, "n0", ["iperf3", "-s", "-D", "-B", addr(0)]);
      await new Promise((r) => setTimeout(r, 300));
      const connect = async (from: number, to: number) =>
        (await exec(run.runId, `n${from}`, ["iperf3", "-c", addr(to), "-B", addr(from), "-n", "64K"])).code;
      await ctl.setFirewall({ action: "deny", src: "n0", dst: "n2" });
      for (let i = 0; i < 3; i++) assert.notEqual(await connect(0, 2), 0, "n0 -> n2 is denied");
      assert.equal(await connect(1, 2), 0, "n1 -> n2 is not");
      assert.equal(await connect(2, 0), 0, "nor the reverse pair n2 -> n0");
      const [deny] = await ctl.firewall.counters();
      assert.equal(deny?.packets, 3, "each refused connection counted once");
      await ctl.setFirewall({ action: "allow", src: "n0", dst: "n2" });
      assert.equal(await connect(0, 2), 0);
      // iperf3 opens two connections (control, then data); a refused one stops at the first.
      assert.deepEqual(
        (await ctl.firewall.counters()).map((c) => c.packets),
        [3, 2],
      );
      // By port (an application's, in a run): only connections to that port are refused.
      await exec(run.runId, "n2", ["iperf3", "-s", "-D", "-B", addr(2), "-p", "5202"]);
      await new Promise((r) => setTimeout(r, 300));
      await ctl.setFirewall({ action: "deny", dst: "n2", port: 5202, protocol: "tcp" });
      const connectTo = async (from: number, port: number) =>
        (
          await exec(run.runId, `n${from}`, [
            "iperf3",
            "-c",
            addr(2),
            "-B",
            addr(from),
            "-p",
            String(port),
            "-n",
            "64K",
          ])
        ).code;
      for (let i = 0; i < 3; i++) assert.notEqual(await connectTo(1, 5202), 0, "port 5202 is denied");
      assert.equal(await connectTo(1, 5201), 0, "port 5201 is not");
      assert.equal((await ctl.firewall.counters())[2]?.packets, 3, "each refused connection counted once");
      await ctl.firewall.clear();
      const left = await exec(run.runId, "n0", ["nft", "list", "ruleset"]);
      assert.equal(left.stdout.trim(), "", "clear removes the tables");
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
