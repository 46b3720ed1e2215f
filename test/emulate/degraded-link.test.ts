/**
 * A degraded link in the emulator (emulate/link-quality.ts): the commands, checked on plans without root, and the
 * effect on real namespaces (root): htb's rate changes at the sending end and the wire's delay at the receiving
 * end's relay, then both come back.
 *
 *     n0 ======= n1        line(2): 100 Mbit/s, 2 ms each way, a userspace wire (no netem on this kernel)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { linkQualityCommands } from "../../emulate/link-quality.ts";
import { planSubstrate } from "../../emulate/plan.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const WIRED = line(2, { capacityBps: 100e6, delayNs: 2_000_000 });
const DEGRADED = { capacityBps: 10e6, delayNs: 20_000_000, loss: 0.01 };

describe("degraded link commands", () => {
  it("change htb's rate at the sender and reconfigure the receiver's wire", () => {
    const plan = planSubstrate(WIRED, "d1e2f3", { rate: "htb", delay: "wire" });
    const id = WIRED.links[0]!.id;
    const { tc, wire } = linkQualityCommands(plan, id, DEGRADED);
    const [n0, n1] = [plan.nodes[0]!.netns, plan.nodes[1]!.netns];
    assert.equal(tc?.ns, n0);
    assert.equal(tc.cmds.length, 2);
    for (const a of tc.cmds) {
      assert.deepEqual(a.slice(0, 2), ["class", "change"]);
      assert.equal(a[a.indexOf("rate") + 1], "10000000bit");
    }
    assert.ok(wire);
    assert.deepEqual(wire.slice(0, 4), ["ip", "netns", "exec", n1]);
    assert.equal(wire.at(-2), `TCWIRE ${plan.links[0]!.wire!.vni}:20000000:0.01:-1:${1000 * (1500 + 64)}`);
  });

  const refusals = [
    {
      what: "a delay on a plain veth link",
      topo: line(2, { capacityBps: 100e6, delayNs: 0 }),
      mechanisms: { rate: "htb", delay: "wire" } as const,
      msg: /needs the userspace wire, and this link is a plain veth/,
    },
    {
      what: "a capacity change under tbf",
      topo: WIRED,
      mechanisms: { rate: "tbf", delay: "wire" } as const,
      msg: /needs htb or the wire relay's pacing; this run limits rates with tbf/,
    },
  ];
  for (const c of refusals) {
    it(`refuse ${c.what}, naming the link`, () => {
      const plan = planSubstrate(c.topo, "d1e2f3", c.mechanisms);
      const id = c.topo.links[0]!.id;
      assert.throws(
        () => linkQualityCommands(plan, id, DEGRADED),
        (e: unknown) =>
          e instanceof EmulationError && e.message.includes(`link ${id}`) && c.msg.test(e.message),
      );
    });
  }
});

describe("a degraded link on namespaces", async () => {
  const skip = await needs(["veth", "vxlan", "htb"], ["ping"]);

  /** Smallest ping RTT from n0 to n1, ms. */
  async function minRttMs(runId: string, dst: string): Promise<number> {
    const r = await exec(runId, "n0", ["ping", "-c", "5", "-i", "0.1", "-W", "2", dst]);
    const m = /= ([\d.]+)\//.exec(r.stdout);
    assert.ok(m, `ping output: ${r.stdout} ${r.stderr}`);
    return Number(m[1]);
  }
  /** The rate of htb's link class 1:1 as tc prints it ("10Mbit"). */
  async function htbRate(runId: string, node: string, dev: string): Promise<string | undefined> {
    const r = await exec(runId, node, ["tc", "class", "show", "dev", dev]);
    return /class htb 1:1 .*?rate (\S+)/.exec(r.stdout)?.[1];
  }

  it("takes the degraded rate and delay, and gets its own back on restore", { skip }, async () => {
    const run = await up(WIRED, { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const id = WIRED.links[0]!.id;
      const dst = run.nodes[1]!.addresses[0]!;
      const dev = run.plan.links[0]!.a.dev;
      const nominal = await minRttMs(run.runId, dst);
      assert.ok(nominal >= 4 && nominal < 15, `nominal RTT ${nominal} ms`);
      await ctl.setLinkQuality(id, { capacityBps: 10e6, delayNs: 20_000_000, loss: 0 });
      assert.equal(await htbRate(run.runId, "n0", dev), "10Mbit");
      const degraded = await minRttMs(run.runId, dst);
      assert.ok(degraded >= 22, `degraded RTT ${degraded} ms (20 ms one way + 2 ms back)`);
      await ctl.setLinkQuality(id, { capacityBps: 100e6, delayNs: 2_000_000, loss: 0 });
      assert.equal(await htbRate(run.runId, "n0", dev), "100Mbit");
      const restored = await minRttMs(run.runId, dst);
      assert.ok(restored < 15, `restored RTT ${restored} ms`);
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
