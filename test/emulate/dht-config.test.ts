/** The emulated registry's configuration, without root: bootstrap lists, the run's keys, the egress guard's commands. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { counterCommand, egressGuardCommands, parseCounterPackets } from "../../emulate/dht/egress-guard.ts";
import { checkBootstrap, mutableTarget, runKeys, sha1 } from "../../emulate/dht/keys.ts";
import { engineRegistryOptions, nodeConfigs } from "../../emulate/dht/registry.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { planSubstrate } from "../../emulate/plan.ts";
import { ring } from "../../sim/substrate/generators.ts";

const plan = planSubstrate(ring(4, { delayNs: 0 }), "1a2b3c", { rate: "htb", delay: "wire" });

describe("registry node configs", () => {
  it("bootstrap the first node from nothing and every later one from earlier nodes of the run only", () => {
    const cfgs = nodeConfigs(plan, "1a2b3c", { port: 7000 });
    const addresses = plan.nodes.map((n) => n.address);
    assert.deepEqual(
      cfgs.map((c) => c.bootstrap.map((p) => p.host)),
      [[], addresses.slice(0, 1), addresses.slice(0, 2), addresses.slice(0, 3)],
    );
    for (const c of cfgs) {
      assert.deepEqual(c.runAddresses, addresses);
      assert.ok(c.bootstrap.every((p) => p.port === 7000));
    }
  });

  it("refuse a bootstrap entry outside the run, naming it and the allowed addresses", () => {
    assert.throws(
      () => checkBootstrap([{ host: "67.215.246.10", port: 6881 }], ["10.213.0.1"], "registry node n0"),
      (e: unknown) =>
        e instanceof EmulationError &&
        /^registry node n0: bootstrap\[0\]\.host: "67\.215\.246\.10" is not a node of this run; allowed: 10\.213\.0\.1$/.test(
          e.message,
        ),
    );
    assert.throws(
      () => checkBootstrap([{ host: "10.213.0.1", port: 0 }], ["10.213.0.1"], "x"),
      /port: expected 1..65535/,
    );
  });

  it("as the engine starts them: k = the scenario's replication, bootstrap lists of at most k, the model's timeout dilated", () => {
    const cases = [
      { replication: 2, c: 0.05, bootstraps: [0, 1, 2, 2], timeoutMs: 20_000 },
      { replication: 20, c: 1, bootstraps: [0, 1, 2, 3], timeoutMs: 1000 },
    ];
    for (const t of cases) {
      const opts = engineRegistryOptions(
        { nodes: ["n0", "n1", "n2", "n3"], replication: t.replication },
        t.c,
      );
      const cfgs = nodeConfigs(plan, "1a2b3c", opts);
      assert.deepEqual(
        cfgs.map((x) => x.bootstrap.length),
        t.bootstraps,
      );
      for (const x of cfgs) assert.deepEqual([x.k, x.rpcTimeoutMs], [t.replication, t.timeoutMs]);
    }
  });

  it("refuse a node that is not in the run", () => {
    assert.throws(
      () => nodeConfigs(plan, "1a2b3c", { nodes: ["n9"] }),
      /node "n9" is not in the run; nodes: n0, n1, n2, n3/,
    );
  });
});

describe("the run's BEP 44 keys", () => {
  it("are the same for every node of a run and differ across runs", () => {
    assert.deepEqual(runKeys("1a2b3c").publicKey, runKeys("1a2b3c").publicKey);
    assert.notDeepEqual(runKeys("1a2b3c").publicKey, runKeys("ffffff").publicKey);
    assert.equal(runKeys("1a2b3c").publicKey.length, 32);
  });

  it("sign what verify accepts, and verify refuses a changed message or another key", () => {
    const k = runKeys("1a2b3c");
    const msg = Buffer.from("3:seqi1e1:v5:hello");
    const sig = k.sign(msg);
    assert.equal(sig.length, 64);
    assert.equal(k.verify(sig, msg, k.publicKey), true);
    assert.equal(k.verify(sig, Buffer.from("3:seqi2e1:v5:hello"), k.publicKey), false);
    assert.equal(k.verify(sig, msg, runKeys("ffffff").publicKey), false);
    assert.equal(k.verify(sig, msg, Buffer.alloc(3)), false);
  });

  it("address an item at SHA-1(k + salt)", () => {
    const k = runKeys("1a2b3c").publicKey;
    assert.deepEqual(mutableTarget(k, sha1("a")), sha1(Buffer.concat([k, sha1("a")])));
  });
});

describe("the egress guard", () => {
  it("traps the default route and counts packets to addresses outside the run", () => {
    const cmds = egressGuardCommands("tc1a2b3c", ["10.213.0.2", "10.213.0.1"], 16881);
    assert.deepEqual(cmds[0], ["ip", "tuntap", "add", "dev", "tc1a2b3c-trap", "mode", "tun"]);
    assert.deepEqual(cmds[2], ["ip", "route", "add", "default", "dev", "tc1a2b3c-trap"]);
    assert.ok(
      cmds.some((c) => c.join(" ").includes("ip daddr != { 10.213.0.1, 10.213.0.2 } counter name outside")),
    );
    assert.deepEqual(counterCommand("outside"), [
      "nft",
      "list",
      "counter",
      "ip",
      "topocast_guard",
      "outside",
    ]);
  });

  it("reads a counter's packets and refuses other output", () => {
    assert.equal(parseCounterPackets("counter outside {\n\t\tpackets 12 bytes 900\n\t}"), 12);
    assert.throws(() => parseCounterPackets("Error: No such file"), EmulationError);
  });
});
