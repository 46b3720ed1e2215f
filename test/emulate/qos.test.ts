/**
 * setQos in emulation: htb classes with priorities, guaranteed rates and ceilings. Two pairs share the bottleneck
 * n1 -> n2 of line(3) at 20 Mbit/s, both sending as fast as TCP lets them: the high class (n1 -> n2, priority 0,
 * 12 Mbit/s guaranteed) keeps at least 95% of its guarantee against the low one (n0 -> n2, priority 1, 4 Mbit/s),
 * where without classes n1 -> n2 gets less (measured: about a quarter of the link); and a priority class guaranteed
 * only 1 Mbit/s takes most of the link from unclassed traffic, as it borrows first (best effort borrows at prio 7).
 *
 *     n0 ---- n1 ====> n2
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { defaultClassRate } from "../../emulate/qos.ts";
import { down, up } from "../../emulate/substrate.ts";
import { InsufficientCapacityError } from "../../models/policies/types.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { iperfGoodput, iperfServers } from "./fixtures/iperf.ts";
import { namespaceState } from "./fixtures/namespace-state.ts";
import { offline } from "./fixtures/offline-control-plane.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-qos-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const topo = line(3, { capacityBps: 20e6, delayNs: 0 });

describe("QoS classes, offline", () => {
  it("guarantees the default class 1% of a link while it has classes (it borrows the rest at prio 7), all of it after", async () => {
    const { ctl, runner } = offline(topo, dir);
    await ctl.setQos({ src: "n0", dst: "n2" }, { priority: 0, rateBps: 12e6 });
    await ctl.setQos({ src: "n1", dst: "n2" }, { priority: 1, rateBps: 4e6 });
    const text = runner.text();
    const leaf = (rate: string) =>
      new RegExp(
        `class change dev tcabc123-e1a parent 1:1 classid 1:10 htb rate ${rate}bit ceil 20000000bit .* prio 7`,
      );
    assert.match(text, leaf("200000"));
    assert.doesNotMatch(text, leaf("4000000"));
    assert.match(
      text,
      /class replace dev tcabc123-e1a parent 1:1 classid 1:101 htb rate 4000000bit ceil 20000000bit .* prio 1/,
    );
    assert.deepEqual(defaultClassRate("d", 5e6, 20e6, 1500).slice(-2), ["prio", "7"]);
    await ctl.setQos({ src: "n0", dst: "n2" }, null);
    assert.doesNotMatch(runner.text().slice(text.length), leaf("20000000"), "a class is left on the link");
    await ctl.setQos({ src: "n1", dst: "n2" }, null);
    assert.match(runner.text().slice(text.length), leaf("20000000"));
  });

  it("sends the classes set in one turn to each namespace as one tc request; a failing line fails only its call", async () => {
    const { ctl, runner } = offline(topo, dir);
    const record = runner.run.bind(runner);
    // tc refuses the second class's line (as it would a clash): its call fails, the first one's stands.
    runner.run = async (argv, opts = {}) => {
      const r = await record(argv, opts);
      const n = (opts.input ?? "")
        .split("\n")
        .findIndex((l) => l.includes("class replace") && l.includes("1:101 "));
      return n < 0
        ? r
        : { ...r, code: 1, stderr: `RTNETLINK answers: File exists\nCommand failed -:${n + 1}\n` };
    };
    const [a, b] = await Promise.allSettled([
      ctl.setQos({ src: "n0", dst: "n2" }, { priority: 0, rateBps: 2e6 }),
      ctl.setQos({ src: "n1", dst: "n2" }, { priority: 1, rateBps: 2e6 }),
    ]);
    const installs = runner.calls
      .filter((c) => c.argv[0] === "tc" && c.input?.includes("class replace"))
      .map((c) => c.argv[2]);
    assert.deepEqual(installs, ["tcabc123-n0", "tcabc123-n1"], "one request per namespace");
    assert.equal(a.status, "fulfilled");
    assert.ok(b.status === "rejected" && /classid 1:101 .*File exists/.test(String(b.reason)), String(b));
    assert.ok(ctl.qos.of("n0", "n2"));
    assert.equal(ctl.qos.of("n1", "n2"), undefined);
  });

  it("refuses a guarantee that leaves the default class under 1% of a link, naming the link", async () => {
    const { ctl } = offline(topo, dir);
    await ctl.setQos({ src: "n0", dst: "n2" }, { priority: 0, rateBps: 15e6 });
    await assert.rejects(
      ctl.setQos({ src: "n1", dst: "n2" }, { priority: 1, rateBps: 5e6 }),
      (e: unknown) =>
        e instanceof InsufficientCapacityError && /link n1 tcabc123-e1a/.test((e as Error).message),
    );
    assert.equal(ctl.qos.of("n1", "n2"), undefined);
    await ctl.setQos({ src: "n0", dst: "n2" }, { priority: 0, rateBps: 10e6 }); // a pair's own class is replaced
    await ctl.setQos({ src: "n1", dst: "n2" }, { priority: 1, rateBps: 5e6 });
  });
});

describe("QoS on namespaces", async () => {
  const skip = await needs(["veth", "htb", "u32"], ["iperf3"]);

  /** Goodput of two pairs sending at once for `seconds` (bits/s at the receiver). */
  async function together(runId: string, addr: (i: number) => string, seconds: number) {
    const send = (from: number, port: number) =>
      iperfGoodput(runId, { node: `n${from}`, address: addr(from) }, { address: addr(2), port }, seconds);
    const [high, low] = await Promise.all([send(1, 5201), send(0, 5202)]);
    return { high, low };
  }

  it("the high class keeps at least 95% of its guaranteed rate on a shared bottleneck, and removal is exact", {
    skip,
  }, async (t) => {
    const run = await up(topo, { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const addr = (i: number) => run.nodes[i]!.addresses[0]!;
      await iperfServers(run.runId, "n2", [5201, 5202]);
      const before = await namespaceState(run);
      const plain = await together(run.runId, addr, 3);
      await ctl.setQos({ src: "n1", dst: "n2" }, { priority: 0, rateBps: 12e6 });
      await ctl.setQos({ src: "n0", dst: "n2" }, { priority: 1, rateBps: 4e6 });
      const classes = await together(run.runId, addr, 3);
      t.diagnostic(
        `without classes: ${(plain.high / 1e6).toFixed(2)} / ${(plain.low / 1e6).toFixed(2)} Mbit/s; with: ${(classes.high / 1e6).toFixed(2)} (guaranteed 12) / ${(classes.low / 1e6).toFixed(2)} (guaranteed 4)`,
      );
      assert.ok(classes.high >= 0.95 * 12e6, `high class ${classes.high} bit/s`);
      assert.ok(classes.low >= 0.9 * 4e6, `low class ${classes.low} bit/s`);
      await ctl.setQos({ src: "n0", dst: "n2" }, null);
      // A priority class borrows ahead of best effort (the simulator's guaranteed-then-borrow order): with a
      // guarantee of 1 Mbit/s against unclassed traffic it gets most of the link, not just its guarantee.
      await ctl.setQos({ src: "n1", dst: "n2" }, { priority: 0, rateBps: 1e6 });
      const borrowed = await together(run.runId, addr, 2);
      t.diagnostic(
        `1 Mbit/s priority class against best effort: ${(borrowed.high / 1e6).toFixed(2)} / ${(borrowed.low / 1e6).toFixed(2)} Mbit/s`,
      );
      assert.ok(borrowed.high >= 0.6 * 20e6, `priority class ${borrowed.high} bit/s`);
      assert.ok(borrowed.high > 3 * borrowed.low, `best effort ${borrowed.low} bit/s`);
      await ctl.setQos({ src: "n1", dst: "n2" }, null);
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
