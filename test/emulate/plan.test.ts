import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationError } from "../../emulate/errors.ts";
import {
  bridgeCommands,
  nodeCommands,
  planSubstrate,
  relayConfig,
  rootCommands,
  sinkReplyCommands,
  tcCommands,
} from "../../emulate/plan.ts";
import { line } from "../../sim/substrate/generators.ts";
import { TopologyBuilder } from "../../sim/substrate/topology.ts";

const HTB_WIRE = { rate: "htb", delay: "wire" } as const;
const HTB_NETEM = { rate: "htb", delay: "netem" } as const;

/**
 * The fixture: a 3-node line, 100 Mbit/s links.
 *
 *     n0 ------ n1 ------ n2
 *        e0/w0     e1/w1
 */
describe("substrate plan", () => {
  it("a line without delay becomes veths with /31s, node addresses and routes along the line", () => {
    const plan = planSubstrate(line(3, { capacityBps: 100e6, delayNs: 0 }), "1a2b3c", HTB_WIRE);
    assert.deepEqual(
      plan.nodes.map((n) => [n.netns, n.address]),
      [
        ["tc1a2b3c-n0", "10.213.0.1"],
        ["tc1a2b3c-n1", "10.213.0.2"],
        ["tc1a2b3c-n2", "10.213.0.3"],
      ],
    );
    assert.deepEqual(
      plan.links.map((l) => [l.kind, l.a.dev, l.a.address, l.b.dev, l.b.address]),
      [
        ["veth", "tc1a2b3c-e0a", "10.213.1.0", "tc1a2b3c-e0b", "10.213.1.1"],
        ["veth", "tc1a2b3c-e1a", "10.213.1.2", "tc1a2b3c-e1b", "10.213.1.3"],
      ],
    );
    // n0 reaches n1 and n2 through n1's end of link 0; n1 splits; n2 goes back through link 1
    assert.deepEqual(plan.routes, [
      [
        { dst: 1, via: "10.213.1.1", dev: "tc1a2b3c-e0a" },
        { dst: 2, via: "10.213.1.1", dev: "tc1a2b3c-e0a" },
      ],
      [
        { dst: 0, via: "10.213.1.0", dev: "tc1a2b3c-e0b" },
        { dst: 2, via: "10.213.1.3", dev: "tc1a2b3c-e1a" },
      ],
      [
        { dst: 0, via: "10.213.1.2", dev: "tc1a2b3c-e1b" },
        { dst: 1, via: "10.213.1.2", dev: "tc1a2b3c-e1b" },
      ],
    ]);
    assert.deepEqual(plan.dropped, []);
  });

  it("the root batch creates namespaces, then veths in place", () => {
    const plan = planSubstrate(line(3, { delayNs: 0 }), "1a2b3c", HTB_WIRE);
    const cmds = rootCommands(plan).map((c) => c.slice(0, 5).join(" "));
    assert.deepEqual(cmds, [
      "netns add tc1a2b3c-n0",
      "netns add tc1a2b3c-n1",
      "netns add tc1a2b3c-n2",
      "link add name tc1a2b3c-e0a address",
      "link add name tc1a2b3c-e1a address",
    ]);
  });

  it("a node's batch brings lo and links up, pins neighbours and adds one route per other node", () => {
    const plan = planSubstrate(line(3, { delayNs: 0 }), "1a2b3c", HTB_WIRE);
    const text = nodeCommands(plan, 1).map((c) => c.join(" "));
    assert.deepEqual(text, [
      "link set dev lo up",
      "addr add 10.213.0.2/32 dev lo",
      "addr add 10.213.1.1/31 dev tc1a2b3c-e0b",
      "link set dev tc1a2b3c-e0b up",
      "neigh replace 10.213.1.0 lladdr 02:74:63:00:00:00 dev tc1a2b3c-e0b nud permanent",
      "addr add 10.213.1.2/31 dev tc1a2b3c-e1a",
      "link set dev tc1a2b3c-e1a up",
      "neigh replace 10.213.1.3 lladdr 02:74:63:00:00:03 dev tc1a2b3c-e1a nud permanent",
      "route add 10.213.0.1/32 via 10.213.1.0 dev tc1a2b3c-e0b src 10.213.0.2",
      "route add 10.213.0.3/32 via 10.213.1.3 dev tc1a2b3c-e1a src 10.213.0.2",
    ]);
  });

  it("every link end gets htb at its egress rate", () => {
    const plan = planSubstrate(line(3, { capacityBps: 100e6, delayNs: 0 }), "1a2b3c", HTB_WIRE);
    const roots = tcCommands(plan, 1).filter((c) => c[1] === "replace");
    assert.deepEqual(
      roots.map((c) => c[3]),
      ["tc1a2b3c-e0b", "tc1a2b3c-e1a"],
    );
  });

  it("delayed links become wires without netem: underlay veth, VXLAN, fdb to the relay, a relay per node", () => {
    const plan = planSubstrate(line(3, { capacityBps: 100e6, delayNs: 20_000_000 }), "1a2b3c", HTB_WIRE);
    assert.deepEqual(
      plan.links.map((l) => [l.kind, l.a.dev, l.wire?.a.dev, l.wire?.vni]),
      [
        ["wire", "tc1a2b3c-w0a", "tc1a2b3c-u0a", 1],
        ["wire", "tc1a2b3c-w1a", "tc1a2b3c-u1a", 2],
      ],
    );
    assert.ok(rootCommands(plan)[3]!.join(" ").includes("name tc1a2b3c-u0a mtu 1550"));
    assert.deepEqual(bridgeCommands(plan, 0), [
      [
        "fdb",
        "append",
        "00:00:00:00:00:00",
        "dev",
        "tc1a2b3c-w0a",
        "dst",
        plan.links[0]!.wire!.b.address,
        "port",
        "4790",
      ],
    ]);
    assert.deepEqual(
      relayConfig(plan, 1)?.wires.map((w) => [w.vni, w.delayNs, w.rateBps]),
      [
        [1, 20_000_000, null],
        [2, 20_000_000, null],
      ],
    );
    assert.deepEqual(tcCommands(plan, 0)[0]!.slice(0, 4), ["qdisc", "replace", "dev", "tc1a2b3c-w0a"]);
  });

  it("with netem, delayed links stay veths with a netem leaf", () => {
    const plan = planSubstrate(line(2, { capacityBps: 100e6, delayNs: 5_000_000 }), "1a2b3c", HTB_NETEM);
    assert.equal(plan.links[0]!.kind, "veth");
    assert.ok(tcCommands(plan, 0).some((c) => c.includes("netem") && c.includes("5000us")));
    assert.equal(relayConfig(plan, 0), undefined);
  });

  it('delay "ignore" drops delays and says so', () => {
    const plan = planSubstrate(line(2, { delayNs: 5_000_000 }), "1a2b3c", HTB_WIRE, { delay: "ignore" });
    assert.equal(plan.links[0]!.kind, "veth");
    assert.deepEqual(plan.dropped, ["link n0->n1: delay and loss not emulated (emulation.delay = ignore)"]);
  });

  it("asking for netem on a kernel without it fails with the setting's name", () => {
    assert.throws(
      () => planSubstrate(line(2), "1a2b3c", HTB_WIRE, { delay: "netem" }),
      (e: unknown) => {
        return e instanceof EmulationError && /emulation.delay: netem is not available/.test(e.message);
      },
    );
  });

  it("without htb or tbf, wires pace in the relay", () => {
    const plan = planSubstrate(line(2, { capacityBps: 10e6, delayNs: 1_000_000 }), "1a2b3c", {
      rate: "none",
      delay: "wire",
    });
    assert.equal(plan.mechanisms.rate, "relay");
    assert.equal(relayConfig(plan, 1)?.wires[0]?.rateBps, 10e6);
    assert.deepEqual(tcCommands(plan, 0), []);
  });
});

describe("a sink node (incoming links only, as an intent mesh's anycast node)", () => {
  it("answers over the reverse side of its first incoming link's veth, unlimited", () => {
    const topo = new TopologyBuilder("sink", "test", { capacityBps: 100e6, delayNs: 0 })
      .addNode({ id: "a" })
      .addNode({ id: "b" })
      .addNode({ id: "svc" })
      .addLink("a", "b")
      .addLink("a", "svc", {}, false)
      .addLink("b", "svc", {}, false)
      .build();
    const plan = planSubstrate(topo, "1a2b3c", HTB_WIRE);
    const toSvc = plan.links.find((l) => l.ids[0] === "a->svc")!;
    assert.deepEqual([toSvc.ids[1], toSvc.b.rateBps], [null, null], "one way: nothing limits the way back");
    assert.deepEqual(
      plan.routes[2],
      [0, 1].map((dst) => ({ dst, via: toSvc.a.address, dev: toSvc.b.dev })),
    );
    assert.ok(plan.routes[0]!.some((r) => r.dst === 2) && plan.routes[1]!.some((r) => r.dst === 2));
  });

  it("answers a connection over the link it came in on: a conntrack mark and a table per incoming link", () => {
    const topo = new TopologyBuilder("sink", "test", { capacityBps: 100e6, delayNs: 0 })
      .addNode({ id: "a" })
      .addNode({ id: "b" })
      .addNode({ id: "svc" })
      .addLink("a", "b")
      .addLink("a", "svc", {}, false)
      .addLink("b", "svc", {}, false)
      .build();
    const plan = planSubstrate(topo, "1a2b3c", HTB_WIRE);
    const ends = ["a->svc", "b->svc"].map((id) => plan.links.find((l) => l.ids[0] === id)!);
    const { ip, nft } = sinkReplyCommands(plan, 2);
    assert.deepEqual(
      ip,
      ends.flatMap((l, j) => [
        ["rule", "add", "fwmark", String(j + 1), "table", String(500 + j), "priority", String(500 + j)],
        ["route", "add", "default", "via", l.a.address, "dev", l.b.dev, "table", String(500 + j)],
      ]),
    );
    for (const [j, l] of ends.entries())
      assert.ok(
        nft.includes(`add rule inet tc_sink pre iifname "${l.b.dev}" ct state new ct mark set ${j + 1}`),
      );
    assert.ok(nft.includes("add rule inet tc_sink out meta mark set ct mark"));
    for (const other of [0, 1]) assert.deepEqual(sinkReplyCommands(plan, other), { ip: [], nft: [] });
  });
});
