import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addrAdd,
  batchArgv,
  batchText,
  burstBytes,
  fdbDefault,
  htbLink,
  htbQosClass,
  htbQosClassDel,
  ipArgv,
  neighReplace,
  netemLeaf,
  netnsAdd,
  netnsExecArgv,
  routeAdd,
  shaperAllowanceBytes,
  sysctlArgv,
  tbfLink,
  tcArgv,
  vethAdd,
  vxlanAdd,
} from "../../emulate/commands.ts";
import { EmulationError } from "../../emulate/errors.ts";

describe("command builders", () => {
  const cases: { name: string; argv: readonly string[]; expected: string[] }[] = [
    {
      name: "netns add runs in the caller's namespace",
      argv: ipArgv(netnsAdd("tc1a2b3c-A")),
      expected: ["ip", "netns", "add", "tc1a2b3c-A"],
    },
    {
      name: "a veth is created directly in both namespaces",
      argv: ipArgv(
        vethAdd({
          name: "tc1a2b3c-e0a",
          netns: "tc1a2b3c-A",
          peer: "tc1a2b3c-e0b",
          peerNetns: "tc1a2b3c-B",
          mtu: 1500,
          mac: "02:74:63:00:00:00",
          peerMac: "02:74:63:00:00:01",
        }),
      ),
      expected: [
        "ip",
        "link",
        "add",
        "name",
        "tc1a2b3c-e0a",
        "address",
        "02:74:63:00:00:00",
        "mtu",
        "1500",
        "netns",
        "tc1a2b3c-A",
        "type",
        "veth",
        "peer",
        "name",
        "tc1a2b3c-e0b",
        "address",
        "02:74:63:00:00:01",
        "mtu",
        "1500",
        "netns",
        "tc1a2b3c-B",
      ],
    },
    {
      name: "an address is added in a namespace",
      argv: ipArgv(addrAdd("tc1a2b3c-e0a", "10.213.1.0/31"), "tc1a2b3c-A"),
      expected: ["ip", "-n", "tc1a2b3c-A", "addr", "add", "10.213.1.0/31", "dev", "tc1a2b3c-e0a"],
    },
    {
      name: "a route names its next hop, device and source",
      argv: ipArgv(
        routeAdd({ dst: "10.213.0.3/32", via: "10.213.1.1", dev: "tc1a2b3c-e0a", src: "10.213.0.1" }),
      ),
      expected: [
        "ip",
        "route",
        "add",
        "10.213.0.3/32",
        "via",
        "10.213.1.1",
        "dev",
        "tc1a2b3c-e0a",
        "src",
        "10.213.0.1",
      ],
    },
    {
      name: "a VXLAN device has id, local, remote and port, and never learns",
      argv: ipArgv(
        vxlanAdd({
          name: "tc1a2b3c-v0a",
          vni: 1001,
          local: "10.213.255.254",
          remote: "10.213.255.255",
          mtu: 1450,
        }),
      ),
      expected: [
        "ip",
        "link",
        "add",
        "name",
        "tc1a2b3c-v0a",
        "mtu",
        "1450",
        "type",
        "vxlan",
        "id",
        "1001",
        "local",
        "10.213.255.254",
        "remote",
        "10.213.255.255",
        "dstport",
        "4789",
        "nolearning",
      ],
    },
    {
      name: "a wire's VXLAN device turns segmentation offload off",
      argv: vxlanAdd({ name: "w", vni: 1, local: "10.0.0.1", dstport: 4789, gsoMaxSegs: 1 }),
      expected: [
        "link",
        "add",
        "name",
        "w",
        "gso_max_segs",
        "1",
        "type",
        "vxlan",
        "id",
        "1",
        "local",
        "10.0.0.1",
        "dstport",
        "4789",
        "nolearning",
      ],
    },
    {
      name: "a permanent neighbour",
      argv: neighReplace("10.0.0.2", "02:74:63:00:00:01", "d"),
      expected: [
        "neigh",
        "replace",
        "10.0.0.2",
        "lladdr",
        "02:74:63:00:00:01",
        "dev",
        "d",
        "nud",
        "permanent",
      ],
    },
    {
      name: "the fdb default entry sends to the relay port",
      argv: fdbDefault("w", "10.0.0.2", 4790),
      expected: ["fdb", "append", "00:00:00:00:00:00", "dev", "w", "dst", "10.0.0.2", "port", "4790"],
    },
    {
      name: "sysctl runs inside the namespace",
      argv: sysctlArgv("tc1a2b3c-A", ["net.ipv4.ip_forward=1"]),
      expected: ["ip", "netns", "exec", "tc1a2b3c-A", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
    },
    {
      name: "exec keeps the argv as given (spaces included)",
      argv: netnsExecArgv("ns", ["echo", "a b"]),
      expected: ["ip", "netns", "exec", "ns", "echo", "a b"],
    },
    {
      name: "tc takes -n",
      argv: tcArgv(["qdisc", "show"], "ns"),
      expected: ["tc", "-n", "ns", "qdisc", "show"],
    },
    { name: "a batch reads stdin", argv: batchArgv("tc", "ns"), expected: ["tc", "-n", "ns", "-batch", "-"] },
    {
      name: "netem delay is in microseconds and loss in percent",
      argv: netemLeaf("d", "1:10", 20_000_000, 0.01),
      expected: [
        "qdisc",
        "replace",
        "dev",
        "d",
        "parent",
        "1:10",
        "handle",
        "10:",
        "netem",
        "delay",
        "20000us",
        "loss",
        "1.000000%",
        "limit",
        "1000",
      ],
    },
  ];
  for (const c of cases) it(`${c.name}`, () => assert.deepEqual([...c.argv], c.expected));

  it("htb makes a root, a link class, a default leaf class and a fifo", () => {
    const cmds = htbLink("d", 100e6);
    assert.deepEqual(
      cmds.map((c) => c.slice(0, 2).join(" ")),
      ["qdisc replace", "class add", "class add", "qdisc add"],
    );
    assert.ok(cmds[1]!.includes("100000000bit"));
    assert.equal(cmds[1]![cmds[1]!.indexOf("burst") + 1], "25000");
  });

  it("tbf is a single root qdisc", () => assert.equal(tbfLink("d", 1e6).length, 1));

  it("a QoS class steers the pair with a u32 filter", () => {
    const [cls, filter] = htbQosClass({
      dev: "d",
      minor: 100,
      priority: 1,
      rateBps: 10e6,
      ceilBps: 100e6,
      src: "10.0.0.1",
      dst: "10.0.0.2",
    });
    assert.deepEqual(cls!.slice(0, 8), ["class", "replace", "dev", "d", "parent", "1:1", "classid", "1:100"]);
    assert.ok(filter!.join(" ").includes("match ip src 10.0.0.1/32 match ip dst 10.0.0.2/32 flowid 1:100"));
  });

  it("a QoS class also steers the pair's packets in a virtual link, by their inner header", () => {
    const spec = { dev: "d", minor: 101, priority: 0, rateBps: 1e6, ceilBps: 1e8, src: "10.213.0.2" };
    const cmds = htbQosClass({ ...spec, dst: "10.213.0.5", vxlanPort: 4789 });
    assert.equal(cmds.length, 3);
    assert.equal(
      cmds[2]!.join(" "),
      "filter replace dev d parent 1: protocol ip prio 1 handle 800::865 u32 match ip protocol 17 0xff " +
        "match u16 4789 0xffff at 22 match u16 0x0ad5 0xffff at 62 match u16 0x0002 0xffff at 64 " +
        "match u16 0x0ad5 0xffff at 66 match u16 0x0005 0xffff at 68 flowid 1:101",
    );
    const del = htbQosClassDel("d", 101, true).map((c) =>
      c.includes("handle") ? c[c.indexOf("handle") + 1] : c.at(-1),
    );
    assert.deepEqual(del, ["800::65", "800::865", "1:101"]);
    assert.throws(() => htbQosClass({ ...spec, minor: 0x800, dst: "10.213.0.5" }), /at most 2047/);
  });

  it("bursts cover 2 ms at the rate and at least four frames", () => {
    assert.equal(burstBytes(1e6), 4 * 1514);
    assert.equal(burstBytes(1e9), 250_000);
  });

  it("a shaped link passes at most its bucket plus one GSO packet above its rate", () => {
    assert.equal(shaperAllowanceBytes(100e6), 25_000 + 46 * 1514);
    assert.equal(shaperAllowanceBytes(1e6, 9000), 4 * 9014 + 8 * 9014);
  });

  it("every htb class and the tbf carry the bucket size as burst and cburst", () => {
    const b = String(burstBytes(100e6));
    const classes = htbLink("d", 100e6).filter((c) => c[0] === "class");
    assert.deepEqual(
      classes.map((c) => [
        c[c.indexOf("classid") + 1],
        c[c.indexOf("burst") + 1],
        c[c.indexOf("cburst") + 1],
      ]),
      [
        ["1:1", b, b],
        ["1:10", b, b],
      ],
    );
    const tbf = tbfLink("d", 100e6)[0]!;
    assert.equal(tbf[tbf.indexOf("burst") + 1], b);
  });

  it("a batch file has one command per line", () => {
    assert.equal(
      batchText([
        ["link", "set", "dev", "lo", "up"],
        ["netns", "add", "x"],
      ]),
      "link set dev lo up\nnetns add x\n",
    );
  });

  const unsafe = ["a b", 'a"b', "a'b", "#x", "a\\b", "", "a\nb"];
  for (const arg of unsafe) {
    it(`a batch refuses the argument ${JSON.stringify(arg)}`, () => {
      assert.throws(() => batchText([["link", "add", arg]]), EmulationError);
    });
  }

  it("bad numbers name the field", () => {
    assert.throws(
      () => vxlanAdd({ name: "x", vni: 0, local: "10.0.0.1" }),
      /vni: expected an integer >= 1, got 0/,
    );
    assert.throws(() => htbLink("d", 0), /rate must be > 0/);
    assert.throws(() => sysctlArgv("ns", ["x=1; rm"]), /key=integer/);
  });
});
