/**
 * A running relay's wire reconfigured by a control datagram (a degraded link, emulate/link-quality.ts), for the C
 * relay and the JavaScript relay side by side in a scratch namespace (root): the new delay holds for datagrams sent
 * after it, a loss of 1 loses everything, and a control datagram that does not come from 127.0.0.1 is ignored
 * (counted as unknown). Times are one-sided (never early), as in wire-relay-namespace.test.ts.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { ipArgv, netnsAdd, netnsDel, netnsExecArgv } from "../../emulate/commands.ts";
import { netnsNames, newRunId } from "../../emulate/names.ts";
import { buildRelay } from "../../emulate/relay-build.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { relayArgv, type WireConfig, wireControlArgv, wireControlMessage } from "../../emulate/wire-relay.ts";
import { assertRunsGone, needs } from "../helpers/emulation.ts";
import { startRelay } from "./fixtures/relay-process.ts";

const WIRE: WireConfig = { vni: 7, delayNs: 1_000_000, lossRate: 0, rateBps: null, queueBytes: 15_000 };
const OTHER_ADDRESS = "10.254.254.1";

interface Phase {
  relays: { port: number; sink: number }[];
  count: number;
  tagBase: number;
  /** A control datagram sent first from OTHER_ADDRESS to every relay (must be ignored), if any. */
  foreignControl?: string;
}

/** Runs in the namespace: sends `count` VXLAN datagrams of VNI 7 to every relay, prints per relay [tag, delay ms]. */
async function phaseMain(p: Phase & { otherAddress: string }): Promise<void> {
  const dgram = await import("node:dgram");
  const got = p.relays.map(() => [] as [number, number][]);
  const sent: Record<number, number> = {};
  await Promise.all(
    p.relays.map(
      (r, k) =>
        new Promise<void>((resolve) => {
          const s = dgram.createSocket("udp4");
          s.on("message", (m: Buffer) => {
            const tag = m.readUInt32BE(8);
            got[k]!.push([tag, performance.now() - sent[tag]!]);
          });
          s.bind(r.sink, "127.0.0.1", () => resolve());
        }),
    ),
  );
  if (p.foreignControl) {
    const f = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => f.bind(0, p.otherAddress, () => resolve()));
    for (const r of p.relays) f.send(Buffer.from(p.foreignControl, "latin1"), r.port, p.otherAddress);
    await new Promise((res) => setTimeout(res, 50));
  }
  const tx = dgram.createSocket("udp4");
  for (let i = 0; i < p.count; i++) {
    const b = Buffer.alloc(100);
    b.writeUInt32BE(0x08000000, 0);
    b.writeUInt32BE(7 << 8, 4);
    b.writeUInt32BE(p.tagBase + i, 8);
    sent[p.tagBase + i] = performance.now();
    for (const r of p.relays) tx.send(b, r.port, "127.0.0.1");
    await new Promise((res) => setTimeout(res, 2));
  }
  await new Promise((res) => setTimeout(res, 300));
  process.stdout.write(JSON.stringify(got));
  process.exit(0);
}

describe("a running relay's wire reconfigured by a control datagram", async () => {
  const noCompiler = await buildRelay().then(
    () => false as const,
    (e: Error) => `needs the C relay: ${e.message}`,
  );
  const skip = (await needs([], [])) || noCompiler;
  const runner = new ProcessRunner();
  const runId = newRunId();
  const ns = netnsNames(runId, ["ctl"])[0]!;
  const relays = [
    { port: 4790, sink: 4789 },
    { port: 5790, sink: 5789 },
  ];
  const started: ChildProcess[] = [];
  const results: [number, number][][][] = [];
  const stops: unknown[] = [];

  const phase = async (p: Phase) => {
    const src = ["const __name = (f) => f;", `(${phaseMain.toString()})(JSON.parse(process.argv[1]));`].join(
      "\n",
    );
    const arg = JSON.stringify({ ...p, otherAddress: OTHER_ADDRESS });
    const r = await runner.run(netnsExecArgv(ns, [process.execPath, "--input-type=module", "-e", src, arg]));
    results.push(JSON.parse(r.stdout));
  };
  const control = async (w: WireConfig) => {
    for (const r of relays) await runner.run(wireControlArgv(ns, r.port, w));
  };

  before(async () => {
    if (skip) return;
    await runner.run(ipArgv(netnsAdd(ns)));
    await runner.run(ipArgv(["link", "set", "dev", "lo", "up"], ns));
    await runner.run(ipArgv(["addr", "add", `${OTHER_ADDRESS}/32`, "dev", "lo"], ns));
    const { binary, compiler } = await buildRelay();
    const cfg = (k: number) => ({
      port: relays[k]!.port,
      vxlanPort: relays[k]!.sink,
      seed: 9,
      wires: [WIRE],
    });
    for (const [k, program] of [
      [0, { kind: "c" as const, binary, compiler }],
      [1, { kind: "js" as const, reason: "test" }],
    ] as const) {
      const r = await startRelay(relayArgv(ns, cfg(k), program));
      started.push(r.child);
      stops.push(r.stop);
    }
    // Phase 0: the delay raised to 40 ms; a foreign control datagram asking for loss 1 must be ignored.
    await control({ ...WIRE, delayNs: 40_000_000 });
    await phase({
      relays,
      count: 20,
      tagBase: 0,
      foreignControl: wireControlMessage({ ...WIRE, lossRate: 1 }),
    });
    // Phase 1: loss 1: nothing passes.
    await control({ ...WIRE, delayNs: 40_000_000, lossRate: 1 });
    await phase({ relays, count: 10, tagBase: 100 });
    const stopped = [];
    for (const s of stops as (() => Promise<unknown>)[]) stopped.push(await s());
    stops.length = 0;
    stops.push(...stopped);
  });

  after(async () => {
    if (skip) return;
    for (const ch of started) if (ch.exitCode === null && ch.signalCode === null) ch.kill("SIGKILL");
    await runner.run(ipArgv(netnsDel(ns)), { check: false });
    await assertRunsGone([runId]);
  });

  for (const [k, name] of ["C", "JavaScript"].entries()) {
    it(`the ${name} relay delays datagrams by the new 40 ms, never less, and ignores a foreign control`, {
      skip,
    }, () => {
      const got = results[0]![k]!;
      assert.equal(got.length, 20, `delivered ${got.length} of 20 (a foreign loss 1 must not apply)`);
      const min = Math.min(...got.map(([, d]) => d));
      assert.ok(min >= 40, `smallest one-way delay ${min.toFixed(2)} ms`);
    });

    it(`the ${name} relay loses everything at loss 1, and counts the foreign control as unknown`, {
      skip,
    }, () => {
      assert.equal(results[1]![k]!.length, 0);
      const s = stops[k] as { in: number; out: number; lost: number; unknown: number };
      assert.equal(s.out, 20);
      assert.equal(s.lost, 10);
      assert.equal(s.unknown, 1, JSON.stringify(s));
    });
  }
});
