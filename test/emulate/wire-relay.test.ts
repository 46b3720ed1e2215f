import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Script } from "node:vm";
import { EmulationError } from "../../emulate/errors.ts";
import {
  buildRelay,
  cacheDirs,
  chooseRelay,
  compileArgv,
  relayHash,
  relayModeFromEnv,
} from "../../emulate/relay-build.ts";
import { ProcessRunner, type Runner } from "../../emulate/runner.ts";
import {
  cRelayArgs,
  fixInnerChecksum,
  mulberry32,
  type RelayConfig,
  type RelayProgram,
  relayArgv,
  relaySource,
  type WireConfig,
  wireDeparture,
} from "../../emulate/wire-relay.ts";

const wire = (o: Partial<WireConfig>): WireConfig => ({
  vni: 1,
  delayNs: 20_000_000,
  lossRate: 0,
  rateBps: null,
  queueBytes: 15_000,
  ...o,
});

/** Why the tests of the compiled relay skip (no C compiler, or it does not build), or false. */
const noCompiler = await buildRelay().then(
  () => false as const,
  (e: Error) => `needs the C relay: ${e.message}`,
);

describe("userspace wire", () => {
  const cases: { name: string; w: WireConfig; arrivals: [number, number][]; expected: number[] }[] = [
    { name: "a datagram leaves after the delay", w: wire({}), arrivals: [[0, 1500]], expected: [20] },
    {
      name: "with a rate, datagrams serialize back to back, then propagate",
      w: wire({ rateBps: 12e6 }),
      arrivals: [
        [0, 1500],
        [0, 1500],
        [5, 1500],
      ],
      expected: [21, 22, 26],
    },
    {
      name: "a full queue drops",
      w: wire({ rateBps: 12e6, queueBytes: 1600 }),
      arrivals: [
        [0, 1500],
        [0, 1500],
        [0, 1500],
      ],
      expected: [21, 22, -1],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const st = { busyUntilMs: 0 };
      assert.deepEqual(
        c.arrivals.map(([t, b]) => wireDeparture(st, t, b, c.w, 0.5)),
        c.expected,
      );
    });
  }

  it("loss is a Bernoulli draw below the loss rate", () => {
    assert.equal(wireDeparture({ busyUntilMs: 0 }, 0, 100, wire({ lossRate: 0.1 }), 0.05), -1);
    assert.equal(wireDeparture({ busyUntilMs: 0 }, 0, 100, wire({ lossRate: 0.1 }), 0.15), 20);
  });

  it("the inner TCP checksum is recomputed (RFC 1071)", () => {
    // VXLAN header, Ethernet, IPv4 10.0.0.1 -> 10.0.0.2 TCP SYN 1234 -> 80 (no options), checksum left as 0xdead
    const hex =
      "0800000000000100" +
      "020000000001020000000002" +
      "0800" +
      "450000280001000040060000" +
      "0a0000010a000002" +
      "04d20050000000000000000050022000dead0000";
    const b = Buffer.from(hex, "hex");
    assert.equal(fixInnerChecksum(b), true);
    // checksum over pseudo header + segment must now verify to 0xffff
    let sum = 6 + 20;
    for (let i = 22 + 12; i < 22 + 20; i += 2) sum += b.readUInt16BE(i);
    for (let i = 42; i < 62; i += 2) sum += b.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    assert.equal(sum, 0xffff);
  });

  it("non-IPv4 frames are left alone", () => {
    const b = Buffer.alloc(64);
    b.writeUInt16BE(0x86dd, 20);
    assert.equal(fixInnerChecksum(b), false);
  });

  it("the relay source is self-contained JavaScript", () => {
    assert.doesNotThrow(() => new Script(relaySource()));
  });

  it("mulberry32 takes its seed modulo 2^32, and 0 as 1", () => {
    const first = (seed: number) => mulberry32(seed)();
    assert.equal(first(2 ** 32 + 5), first(5));
    assert.equal(first(0), first(1));
    assert.notEqual(first(1), first(2));
  });
});

describe("relay command lines", () => {
  const cfg: RelayConfig = {
    port: 4790,
    vxlanPort: 4789,
    seed: 100_004,
    wires: [
      wire({ vni: 1, delayNs: 2_000_000, lossRate: 0.01, queueBytes: 1_564_000 }),
      wire({ vni: 3, delayNs: 1500.4, rateBps: 1e8 }),
    ],
  };
  const c: RelayProgram = { kind: "c", binary: "/cache/wire-relay-0123", compiler: "/usr/bin/cc" };
  const js: RelayProgram = { kind: "js", reason: "test" };
  const prefix = ["ip", "netns", "exec", "tc1a2b3c-n1", "nice", "-n", "-10"];

  const cases: { name: string; program: RelayProgram; expected: string[] }[] = [
    {
      name: "the C relay gets ports, seed and one <vni>:<delayNs>:<loss>:<rate or -1>:<queue> per wire",
      program: c,
      expected: [
        ...prefix,
        "/cache/wire-relay-0123",
        "4790",
        "4789",
        "100004",
        "1:2000000:0.01:-1:1564000",
        "3:1500:0:100000000:15000",
      ],
    },
    {
      name: "the JavaScript relay gets its source and the JSON config",
      program: js,
      expected: [...prefix, "/usr/bin/node", "--input-type=module", "-e", relaySource(), JSON.stringify(cfg)],
    },
  ];
  for (const k of cases) {
    it(k.name, () => assert.deepEqual(relayArgv("tc1a2b3c-n1", cfg, k.program, "/usr/bin/node"), k.expected));
  }

  it("the C relay's seed is the JavaScript relay's seed modulo 2^32", () => {
    assert.equal(cRelayArgs({ ...cfg, seed: 2 ** 32 + 7 })[2], "7");
    assert.equal(cRelayArgs({ ...cfg, seed: -1 })[2], "4294967295");
  });

  it("the compiler warns as errors and writes the given file", () => {
    assert.deepEqual(compileArgv("/usr/bin/cc", "/src/wire-relay.c", "/cache/out"), [
      "/usr/bin/cc",
      "-std=c11",
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-o",
      "/cache/out",
      "/src/wire-relay.c",
    ]);
  });

  it("a build is keyed by the source: 16 hex digits that change with it", () => {
    assert.match(relayHash("int main(void) { return 0; }"), /^[0-9a-f]{16}$/);
    assert.notEqual(relayHash("a"), relayHash("b"));
  });

  it("binaries are cached under XDG_CACHE_HOME, else ~/.cache, then the temporary directory", () => {
    assert.deepEqual(cacheDirs({ XDG_CACHE_HOME: "/x" }, "/home/u", "/tmp", 1000), [
      "/x/topocast",
      "/tmp/topocast-1000",
    ]);
    assert.deepEqual(cacheDirs({}, "/home/u", "/tmp", 1000), [
      "/home/u/.cache/topocast",
      "/tmp/topocast-1000",
    ]);
  });

  const modes: { env: string | undefined; expected: string }[] = [
    { env: undefined, expected: "auto" },
    { env: "", expected: "auto" },
    { env: "c", expected: "c" },
    { env: "js", expected: "js" },
  ];
  for (const m of modes) {
    it(`TOPOCAST_WIRE_RELAY=${m.env ?? "(unset)"} means ${m.expected}`, () => {
      assert.equal(relayModeFromEnv(m.env === undefined ? {} : { TOPOCAST_WIRE_RELAY: m.env }), m.expected);
    });
  }

  it("TOPOCAST_WIRE_RELAY with another value is an error naming it", () => {
    assert.throws(() => relayModeFromEnv({ TOPOCAST_WIRE_RELAY: "fast" }), /TOPOCAST_WIRE_RELAY.*"fast"/);
  });

  describe("when the C relay does not compile", () => {
    const dir = mkdtempSync(join(tmpdir(), "topocast-relay-test-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const failing: Runner = {
      run: async () => ({ code: 1, stdout: "", stderr: "wire-relay.c:1:1: error: boom" }),
    };
    const opts = { runner: failing, compiler: "/usr/bin/cc-that-fails", cacheDir: dir };

    it("auto falls back to the JavaScript relay and says why", async () => {
      const p = await chooseRelay("auto", opts);
      assert.equal(p.kind, "js");
      assert.match(p.kind === "js" ? p.reason : "", /C relay unavailable: .*cc-that-fails failed.*boom/s);
    });

    it("c is an error", async () => {
      await assert.rejects(chooseRelay("c", opts), EmulationError);
    });

    it("js never builds", async () => {
      assert.equal((await chooseRelay("js", { runner: { run: () => assert.fail("ran") } })).kind, "js");
    });
  });
});

/** Departures (ns; -1 lost, -2 unknown VNI) of the JavaScript reference for `arrivals` ([vni, ns, bytes]). */
function referenceSchedule(
  seed: number,
  wires: WireConfig[],
  arrivals: [number, number, number][],
): number[] {
  const rand = mulberry32(seed);
  const states = new Map(wires.map((w) => [w.vni, { w, st: { busyUntilMs: 0 } }]));
  return arrivals.map(([vni, t, bytes]) => {
    const s = states.get(vni);
    if (!s) return -2;
    const due = wireDeparture(s.st, t / 1e6, bytes, s.w, rand());
    return due < 0 ? -1 : due * 1e6;
  });
}

describe("the C relay against the JavaScript reference", () => {
  const wires = [
    wire({ vni: 1, delayNs: 5_000_000, lossRate: 0.1 }),
    wire({ vni: 2, delayNs: 1_000_000, lossRate: 0.05, rateBps: 8e6, queueBytes: 6_000 }),
    wire({ vni: 7, delayNs: 0, rateBps: 1e9, queueBytes: 100_000 }),
  ];
  /** Arrivals 0-400 us apart, 60-1500 bytes, on the wires above and now and then an unknown VNI. */
  const arrivals = (n: number, seed: number): [number, number, number][] => {
    const r = mulberry32(seed);
    let t = 1_000_000_000;
    return Array.from({ length: n }, () => {
      t += Math.floor(r() * 400_000);
      const pick = Math.floor(r() * 31);
      return [pick === 30 ? 9 : wires[pick % 3]!.vni, t, 60 + Math.floor(r() * 1441)];
    });
  };
  const cases: { name: string; seed: number; n: number }[] = [
    { name: "seed 1", seed: 1, n: 3000 },
    { name: "seed 0 (taken as 1 by both)", seed: 0, n: 300 },
    { name: "a seed of a larger run, node 3", seed: 7 * 100_003 + 3, n: 3000 },
  ];
  for (const c of cases) {
    it(`gives the same departures and losses, ${c.name}`, { skip: noCompiler }, async () => {
      const { binary } = await buildRelay();
      const input = arrivals(c.n, c.seed + 99);
      const r = await new ProcessRunner().run(
        [
          binary,
          "--schedule",
          String(c.seed),
          ...cRelayArgs({ port: 1, vxlanPort: 1, seed: 0, wires }).slice(3),
        ],
        { input: input.map((a) => `${a.join(" ")}\n`).join("") },
      );
      const got = r.stdout.trim().split("\n").map(Number);
      const expected = referenceSchedule(c.seed, wires, input);
      assert.equal(got.length, expected.length);
      const kinds = (xs: number[]) => xs.map((x) => Math.min(x, 0));
      assert.deepEqual(kinds(got), kinds(expected), "the same datagrams lost, the same unknown");
      const worst = Math.max(...got.map((g, i) => Math.abs(g - expected[i]!)));
      assert.ok(worst <= 2, `departures differ by up to ${worst} ns`);
      if (c.n >= 3000) {
        const lost = (vni: number) => input.filter((a, i) => a[0] === vni && expected[i] === -1).length;
        assert.ok(lost(1) > 0 && lost(2) > lost(1), "the cases exercise loss and a full queue");
      }
    });
  }

  it("rejects a malformed wire with exit code 2 and a message naming it", { skip: noCompiler }, async () => {
    const { binary } = await buildRelay();
    const r = await new ProcessRunner().run([binary, "4790", "4789", "1", "1:5:0.5:-1"], { check: false });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /argv\[4\].*"1:5:0\.5:-1"/);
  });
});
