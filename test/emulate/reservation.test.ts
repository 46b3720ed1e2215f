/**
 * A virtual link's reserved rate in emulation (emulate/qos.ts `reserve`), as in the simulator (a pseudo link of
 * exactly the reserved capacity): the tunnel n0 => n2 reserves 15 Mbit/s on the 20 Mbit/s bottleneck n1 -> n2
 * while the pair n1 -> n2 sends beside it outside any tunnel, both as fast as TCP lets them. The tunnel's goodput
 * keeps at least 90% of its reservation (the rest is TCP/IP and VXLAN headers), the other pair at least 90% of what
 * the reservation leaves; without a reservation the split is whatever TCP makes of it (two runs: 16.2 / 2.8 and
 * 11.1 / 8.3 Mbit/s, tunnel / other pair; with it 14.3 / 5.0 and 14.2 / 4.9). Removing the virtual link removes
 * its classes: every namespace is as before.
 *
 *     n0 ---- n1 ====> n2
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { iperfGoodput, iperfServers } from "./fixtures/iperf.ts";
import { namespaceState } from "./fixtures/namespace-state.ts";

const LINK_BPS = 20e6;
const RESERVED_BPS = 15e6;
/** VXLAN's 50 bytes on a 1450-byte inner packet: what the reservation adds on the substrate. */
const OUTER_BPS = RESERVED_BPS * (1500 / 1450);

describe("a virtual link's reserved rate on namespaces", async () => {
  const skip = await needs(["veth", "vxlan", "htb", "u32"], ["iperf3"]);

  it("keeps the tunnel at its reservation against competing traffic, and its removal is exact", {
    skip,
  }, async (t) => {
    const run = await up(line(3, { capacityBps: LINK_BPS, delayNs: 0 }), {
      capabilities: await capabilities(),
    });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const addr = (i: number) => run.nodes[i]!.addresses[0]!;
      await iperfServers(run.runId, "n2", [5201, 5202]);
      const send = (from: number, port: number) =>
        iperfGoodput(run.runId, { node: `n${from}`, address: addr(from) }, { address: addr(2), port }, 3);
      const together = async () => {
        const [tunnel, other] = await Promise.all([send(0, 5201), send(1, 5202)]);
        return { tunnel, other };
      };
      const before = await namespaceState(run);

      const plainId = await ctl.createVirtualLink("n0", "n2");
      const plain = await together();
      await ctl.removeVirtualLink(plainId);

      const id = await ctl.createVirtualLink("n0", "n2", { rateBps: RESERVED_BPS });
      const classes = (await exec(run.runId, "n1", ["tc", "class", "show", "dev", `${run.prefix}-e1a`]))
        .stdout;
      // 15 Mbit/s plus VXLAN's share: 15.517 Mbit/s, at priority 0, neither more nor less.
      assert.match(classes, /class htb 1:\d+ parent 1:1 .*prio 0 rate 1551\dKbit ceil 1551\dKbit/);
      const reserved = await together();
      t.diagnostic(
        `goodput tunnel / other pair: without a reservation ${(plain.tunnel / 1e6).toFixed(2)} / ${(plain.other / 1e6).toFixed(2)} Mbit/s; with ${RESERVED_BPS / 1e6} Mbit/s reserved ${(reserved.tunnel / 1e6).toFixed(2)} / ${(reserved.other / 1e6).toFixed(2)}`,
      );
      assert.ok(reserved.tunnel >= 0.9 * RESERVED_BPS, `tunnel ${reserved.tunnel} bit/s`);
      assert.ok(reserved.other >= 0.9 * (LINK_BPS - OUTER_BPS), `other pair ${reserved.other} bit/s`);

      await ctl.removeVirtualLink(id);
      assert.equal(
        await namespaceState(run),
        before,
        "removing the virtual link leaves every namespace as before",
      );
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
