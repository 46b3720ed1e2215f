/**
 * Real namespaces (root). The fixtures are lines:
 *
 *     n0 ---- n1 ---- n2     100 Mbit/s, no delay: plain veths with htb
 *     n0 ---- n1             100 Mbit/s, 20 ms each way: a userspace wire (VXLAN through relays), C and JS relay
 *     n0 ---- n1             100 Mbit/s, 2 ms each way: a userspace wire, C relay, iperf3
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { buildRelay } from "../../emulate/relay-build.ts";
import { down, exec, spawnIn, status, type UpResult, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, median, needs, pingTimes } from "../helpers/emulation.ts";

/** TCP payload per Ethernet frame with timestamps (1448 of 1514 bytes): what iperf3 sees of a link rate. */
const GOODPUT_PER_FRAME = 1448 / 1514;

describe("a 3-node line of veths", async () => {
  const skip = await needs(["veth", "htb"], ["ping"]);
  let run: UpResult | undefined;
  before(async () => {
    if (skip) return;
    run = await up(line(3, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
  });
  after(async () => {
    if (run) await down(run.runId);
    if (run) await assertRunsGone([run.runId]);
  });

  it("comes up with one namespace per node and a route to every other node", { skip }, async () => {
    assert.deepEqual(
      run!.nodes.map((n) => n.netns),
      ["n0", "n1", "n2"].map((n) => `${run!.prefix}-${n}`),
    );
    const routes = await exec(run!.runId, "n0", ["ip", "-4", "route", "show"]);
    const n2 = run!.nodes[2]!.addresses[0]!;
    assert.match(
      routes.stdout,
      new RegExp(`^${n2.replaceAll(".", "\\.")} via \\S+ dev ${run!.prefix}-e0a src `, "m"),
    );
    assert.doesNotMatch(routes.stdout, /^default/m);
  });

  it("pings end to end", { skip }, async () => {
    const r = await exec(run!.runId, "n0", [
      "ping",
      "-c",
      "3",
      "-i",
      "0.2",
      "-W",
      "1",
      run!.nodes[2]!.addresses[0]!,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(pingTimes(r.stdout).length, 3);
  });

  it("is listed by status while up", { skip }, async () => {
    const s = (await status()).find((x) => x.runId === run!.runId);
    assert.equal(s?.status, "up");
    assert.equal(s?.namespaces, 3);
    assert.equal(s?.controllerAlive, true);
  });

  const noIperf = skip || (await needs([], ["iperf3"]));
  it("carries the configured 100 Mbit/s end to end within 5% (iperf3)", { skip: noIperf }, async () => {
    const dst = run!.nodes[2]!.addresses[0]!;
    const server = spawnIn(run!.plan, "n2", ["iperf3", "-s", "-1", "-B", dst]);
    try {
      await sleep(300);
      const r = await exec(run!.runId, "n0", ["iperf3", "-c", dst, "-t", "3", "-O", "1", "-J"]);
      assert.equal(r.code, 0, r.stderr);
      const goodput = JSON.parse(r.stdout).end.sum_received.bits_per_second as number;
      const onWire = goodput / GOODPUT_PER_FRAME;
      assert.ok(
        Math.abs(onWire - 100e6) <= 5e6,
        `link rate ${(onWire / 1e6).toFixed(1)} Mbit/s (goodput ${(goodput / 1e6).toFixed(1)})`,
      );
    } finally {
      server.kill();
    }
  });
});

describe("a userspace wire", async () => {
  const skip = await needs(["veth", "vxlan"], ["ping"]);
  const noC = await buildRelay().then(
    () => false as const,
    (e: Error) => `needs the C relay: ${e.message}`,
  );
  const relays: { relay: "c" | "js"; skip: string | false }[] = [
    { relay: "c", skip: skip || noC },
    { relay: "js", skip },
  ];

  for (const r of relays) {
    it(`shows a configured 20 ms one-way delay as 40 +- 3 ms of round-trip time (${r.relay} relay)`, {
      skip: r.skip,
    }, async () => {
      const run = await up(line(2, { capacityBps: 100e6, delayNs: 20_000_000 }), {
        capabilities: await capabilities(),
        settings: { delay: "wire" },
        relay: r.relay,
      });
      try {
        assert.equal(run.plan.links[0]!.kind, "wire");
        assert.equal(run.mechanisms.relay?.kind, r.relay);
        // Other test files load this machine's two cores (iperf3, controllers); a relay that is not scheduled in
        // time adds delay that is not the wire's. Best of three rounds of ten pings, each after a warm-up ping.
        const dst = run.nodes[1]!.addresses[0]!;
        const medians: number[] = [];
        for (let round = 0; round < 3; round++) {
          const p = await exec(run.runId, "n0", ["ping", "-c", "11", "-i", "0.1", "-W", "1", dst]);
          const rtts = pingTimes(p.stdout).slice(1);
          assert.ok(rtts.length >= 8, p.stdout);
          medians.push(median(rtts));
          if (Math.abs(medians.at(-1)! - 40) <= 3) break;
        }
        const best = medians.reduce((a, b) => (Math.abs(a - 40) <= Math.abs(b - 40) ? a : b));
        assert.ok(Math.abs(best - 40) <= 3, `median RTT per round: ${medians.join(", ")} ms`);
      } finally {
        await down(run.runId);
        await assertRunsGone([run.runId]);
      }
    });
  }

  const noIperf = skip || noC || (await needs(["htb"], ["iperf3"]));
  it("carries at least 90 Mbit/s of goodput over a 100 Mbit/s, 2 ms wire (C relay, iperf3)", {
    skip: noIperf,
  }, async () => {
    const run = await up(line(2, { capacityBps: 100e6, delayNs: 2_000_000 }), {
      capabilities: await capabilities(),
      settings: { delay: "wire", rate: "htb" },
      relay: "c",
    });
    try {
      assert.equal(run.plan.links[0]!.kind, "wire");
      const dst = run.nodes[1]!.addresses[0]!;
      const server = spawnIn(run.plan, "n1", ["iperf3", "-s", "-1", "-B", dst]);
      try {
        await sleep(300);
        const r = await exec(run.runId, "n0", ["iperf3", "-c", dst, "-t", "2", "-O", "1", "-J"]);
        assert.equal(r.code, 0, r.stderr);
        const goodput = JSON.parse(r.stdout).end.sum_received.bits_per_second as number;
        assert.ok(goodput >= 90e6, `goodput ${(goodput / 1e6).toFixed(1)} Mbit/s`);
      } finally {
        server.kill();
      }
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
