/**
 * mirror in emulation: copies of a pair's packets over a second path, with per-path counters at the destination,
 * torn down exactly. On the square of fixtures/square.ts (one-way delays), with n0 -> n2 pinned through n1 (20 ms)
 * and mirrored through n3 (2 ms): the mirror delivers nearly every segment first.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { mirredFilter, mirrorDestinationNft, mirrorNftTeardown, mirrorTables } from "../../emulate/mirror.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import { NoPathError, UnknownNodeError } from "../../models/policies/types.ts";
import { assertRunsGone, capabilities, median, needs } from "../helpers/emulation.ts";
import { namespaceState } from "./fixtures/namespace-state.ts";
import { square } from "./fixtures/square.ts";

describe("mirror commands", () => {
  it("copies the pair's packets at its source with an egress mirred filter into the mirror's device", () => {
    assert.deepEqual(
      mirredFilter("tcabc123-e0a", 203, "10.0.0.1", "10.0.0.3", "tcabc123-m3a").join(" "),
      "filter add dev tcabc123-e0a egress protocol ip prio 203 u32 match ip src 10.0.0.1/32 match ip dst 10.0.0.3/32 action mirred egress mirror dev tcabc123-m3a",
    );
  });

  it("accepts the copies as the destination's own and counts arrivals and first deliveries per path", () => {
    const lines = mirrorDestinationNft(mirrorTables("tcabc123"), 3, "tcabc123-m3b", "10.0.0.1", "10.0.0.3");
    assert.ok(lines.includes("add rule netdev tcabc123_mirdev m3 meta pkttype set host"));
    for (const c of [
      "mirror_in",
      "primary_in",
      "mirror_first",
      "mirror_late",
      "primary_first",
      "primary_late",
    ])
      assert.equal(lines.filter((l) => l.includes(`comment "m3_${c}"`)).length, 1, c);
    for (const role of ["src", "dst"] as const)
      assert.deepEqual(
        mirrorNftTeardown(mirrorTables("tcabc123"), 3, role, true),
        [
          "add table inet tcabc123_mir",
          "delete table inet tcabc123_mir",
          "add table netdev tcabc123_mirdev",
          "delete table netdev tcabc123_mirdev",
        ],
        `the node's last mirror (${role}) removes both tables, there or not`,
      );
  });

  it("refuses addresses and names nft would parse as syntax", () => {
    assert.throws(() =>
      mirrorDestinationNft(mirrorTables("tcabc123"), 1, 'x" accept', "10.0.0.1", "10.0.0.2"),
    );
    assert.throws(() =>
      mirrorDestinationNft(mirrorTables("tcabc123"), 1, "m1b", "10.0.0.1; flush", "10.0.0.2"),
    );
  });
});

describe("mirror on namespaces", async () => {
  const skip = await needs(["veth", "vxlan", "htb", "u32", "mirred", "nftables"], ["iperf3", "nft"]);

  it("the mirror delivers the segments of a pair pinned to a slower path first, and its removal is exact", {
    skip,
  }, async (t) => {
    const run = await up(square(), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId, { mirrorPollMs: 50 });
      const pair = { src: "n0", dst: "n2" };
      await ctl.setRoute(pair, ["n0", "n1", "n2"]);
      const before = await namespaceState(run);
      await ctl.mirror(pair, ["n0", "n3", "n2"]);
      assert.deepEqual(ctl.mirrors.list()[0]?.path, ["n0", "n3", "n2"]);
      const [a0, a2] = [run.nodes[0]!.addresses[0]!, run.nodes[2]!.addresses[0]!];
      await exec(run.runId, "n2", ["iperf3", "-s", "-1", "-D", "-B", a2]);
      await new Promise((r) => setTimeout(r, 300));
      const client = await exec(run.runId, "n0", ["iperf3", "-c", a2, "-B", a0, "-n", "2M"]);
      assert.equal(client.code, 0, client.stderr);
      // The client's last packets (FIN, ACKs) are still on the 20 ms primary path when it exits; counters read
      // through the control plane's channels come back within a millisecond, so let them land first.
      await new Promise((r) => setTimeout(r, 200));
      await ctl.sync();
      const m = ctl.observeVerbs(true, () => 1).mirrors[0]!;
      t.diagnostic(JSON.stringify(m));
      assert.ok(
        m.paths!.mirror.firstSegments >
          0.9 * (m.paths!.mirror.firstSegments + m.paths!.primary.firstSegments),
      );
      assert.equal(m.flows, 1);
      assert.equal(m.mirrorWins, 1);
      // Every packet of the pair was copied and both copies arrived (iperf3 -n stops once the sender has written
      // its 2 MB, so less than that crosses the link: the counters, not the transfer size, are the reference).
      const c = ctl.mirrors.counters("n0", "n2")!;
      assert.ok(c.sent.bytes > 1e6, `${c.sent.bytes} bytes sent`);
      assert.equal(m.mirroredBytes, c.sent.bytes + 50 * c.sent.packets, "copies with their tunnel overhead");
      assert.equal(m.paths!.mirror.packets, c.sent.packets);
      assert.equal(m.paths!.primary.packets, c.sent.packets);
      assert.deepEqual([m.paths!.mirror.lossRate, m.paths!.primary.lossRate], [0, 0]);
      assert.deepEqual(ctl.observeVerbs(true).mirrors[0]?.mirroredBytes, 0, "consumed");
      await ctl.mirror(pair, null);
      assert.deepEqual(ctl.mirrors.list(), []);
      assert.equal(
        await namespaceState(run),
        before,
        "the mirror's removal leaves every namespace as before",
      );
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });

  it("sets up in a few tens of milliseconds, replaces a pair's mirror, and refuses bad paths", {
    skip,
  }, async (t) => {
    const run = await up(square(), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const pair = { src: "n0", dst: "n2" };
      const before = await namespaceState(run);
      const ms: number[] = [];
      const timed = async (path: string[]) => {
        const t0 = performance.now();
        await ctl.mirror(pair, path);
        ms.push(performance.now() - t0);
      };
      for (let i = 0; i < 10; i++) {
        await timed(["n0", "n3", "n2"]);
        await timed(["n0", "n1", "n2"]); // replaces the first
        assert.equal(ctl.mirrors.list().length, 1);
        await ctl.mirror(pair, null);
      }
      t.diagnostic(`mirror set-up: median ${median(ms).toFixed(1)} ms wall over ${ms.length}`);
      await assert.rejects(ctl.mirror(pair, ["n0", "n2"]), NoPathError);
      await assert.rejects(ctl.mirror({ src: "n0", dst: "x" }, ["n0", "x"]), UnknownNodeError);
      assert.equal(await namespaceState(run), before);
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
