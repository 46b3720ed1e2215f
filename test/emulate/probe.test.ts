/**
 * probe in emulation: ICMP echoes pinned to the probed path, whatever the pair's routes; an RTT like ping's over the
 * same path; none sent over a link that is down; probe traffic counted; the probe paths removed exactly. On the
 * square of fixtures/square.ts: n0 -> n2 by default through n3 (2 ms one way), or through n1 (20 ms).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { parsePing, pingArgv } from "../../emulate/probe.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import { NoPathError } from "../../models/policies/types.ts";
import { assertRunsGone, capabilities, median, needs, pingTimes } from "../helpers/emulation.ts";
import { namespaceState } from "./fixtures/namespace-state.ts";
import { square } from "./fixtures/square.ts";

describe("probe commands", () => {
  it("pings from the path's own source address, five echoes 10 ms apart", () => {
    assert.deepEqual(pingArgv("tcabc123-n0", "10.0.0.9", "10.0.0.3"), [
      "ip",
      "netns",
      "exec",
      "tcabc123-n0",
      "ping",
      "-n",
      "-c",
      "5",
      "-i",
      "0.01",
      "-W",
      "2",
      "-I",
      "10.0.0.9",
      "10.0.0.3",
    ]);
  });

  const outputs = [
    {
      text: "64 bytes from 10.0.0.3: icmp_seq=1 ttl=63 time=52.1 ms\n64 bytes from 10.0.0.3: icmp_seq=2 ttl=63 time=40.2 ms\n64 bytes from 10.0.0.3: icmp_seq=3 ttl=63 time=40.5 ms\n3 packets transmitted, 3 received, 0% packet loss, time 21ms\nrtt min/avg/max/mdev = 40.2/44.3/52.1/0.3 ms\n",
      want: { sent: 3, received: 3, medianMs: 40.5 },
    },
    {
      text: "3 packets transmitted, 0 received, 100% packet loss, time 2030ms\n",
      want: { sent: 3, received: 0, medianMs: null },
    },
  ];
  for (const o of outputs)
    it(`reads ${o.want.received} of ${o.want.sent} echoes answered from ping's summary`, () => {
      assert.deepEqual(parsePing(o.text), o.want);
    });
});

describe("probe on namespaces", async () => {
  const skip = await needs(["veth", "vxlan"], ["ping"]);

  it("measures the probed path's RTT like ping over the same path (5%), and removes its routes exactly", {
    skip,
  }, async (t) => {
    const run = await up(square(), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const [a0, a2] = [run.nodes[0]!.addresses[0]!, run.nodes[2]!.addresses[0]!];
      const before = await namespaceState(run);
      for (const path of [
        ["n0", "n3", "n2"],
        ["n0", "n1", "n2"],
      ]) {
        // ping over the same path: the default one, or both directions pinned to it
        const pinned = path[1] === "n1";
        if (pinned) {
          await ctl.setRoute({ src: "n0", dst: "n2" }, path);
          await ctl.setRoute({ src: "n2", dst: "n0" }, [...path].reverse());
        }
        const ping = pingTimes(
          (await exec(run.runId, "n0", ["ping", "-n", "-c", "15", "-i", "0.02", "-I", a0, a2])).stdout,
        );
        if (pinned) {
          await ctl.setRoute({ src: "n0", dst: "n2" }, null);
          await ctl.setRoute({ src: "n2", dst: "n0" }, null);
        }
        const rtts: number[] = [];
        for (let i = 0; i < 5; i++) {
          await ctl.probe(path);
          await ctl.sync();
          const [r] = ctl.observeVerbs(true).probes;
          assert.deepEqual(r?.path, path);
          rtts.push(r!.rttNs! / 1e6);
        }
        const [p, q] = [median(rtts), median(ping)];
        t.diagnostic(`${path.join(",")}: probe median ${p.toFixed(2)} ms, ping median ${q.toFixed(2)} ms`);
        // 5% (the target), or half a millisecond on a short path, where a busy machine's scheduling is the jitter
        assert.ok(Math.abs(p - q) <= Math.max(0.05 * q, 0.5), `probe ${p} ms against ping ${q} ms`);
      }
      assert.deepEqual(ctl.probes.overhead, { probes: 10, packets: 100, bytes: 100 * 84 });
      await ctl.probes.clear();
      assert.equal(await namespaceState(run), before, "probe paths removed exactly");
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });

  it("a probe over a link that is down sends nothing and reports no RTT; a non-path is refused", {
    skip,
  }, async () => {
    const run = await up(square(), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      await ctl.setLinkState("n0->n1", false);
      await ctl.probe(["n0", "n1", "n2"]);
      assert.deepEqual(
        ctl.observeVerbs(true).probes.map((p) => p.rttNs),
        [null],
      );
      assert.equal(ctl.probes.overhead.packets, 0);
      await assert.rejects(ctl.probe(["n0", "n2"]), NoPathError);
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
