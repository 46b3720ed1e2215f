/**
 * Intrusion detection and prevention in the sidecar mesh, in real namespaces (root; veth, htb, nftables): the
 * sidecars' refusal log and tripwire ports feed the detector (emulate/sidecar/ids.ts), and a detection blocks the
 * source workload through the emulation control plane's setFirewall (nftables at the source, matching the node's
 * unauthenticated sockets only).
 *
 *     n0 ---------- n1 ---------- n2 ---------- n3
 *     web/0         db/0          web/2         web/3
 *     (client)      echo :7000    (client)      (client)
 *                   tripwires     attacker      scanner
 *                                 (no certificate, uid nobody)
 *
 * Target (issue 16): the attacker's and the scanner's first connection to their block within 2 s; the benign
 * clients' tunnels all delivered, before, during and after the attack, those of the attacker's and the scanner's
 * own nodes included (a block names the identity, not the node).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { type AttemptOutcome, runAttempts } from "../../emulate/sidecar/attacker.ts";
import { SidecarIds, sidecarsOf } from "../../emulate/sidecar/ids.ts";
import { type SidecarMesh, startMesh } from "../../emulate/sidecar/mesh.ts";
import { down, spawnIn, type UpResult, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const PORT = 15001;
const APP_PORT = 7000;
const DB = "spiffe://topocast/db/0";
const TRIPWIRES = [21, 22, 23, 25, 80, 110, 143, 443, 3306, 8080];

const ECHO = `
const net = require("node:net");
net.createServer((c) => { c.pipe(c); c.on("error", () => {}); }).listen(${APP_PORT}, process.argv[1], () => console.log("ready"));
`;

/**
 * Connection attempts, as a node script: argv = JSON {host, ports, tls, gapMs, rounds}: for each round, each port
 * in turn, one connection (TLS without a certificate, or plain TCP sending 1 kB and reading the echo), `gapMs`
 * apart; prints one JSON line: per attempt [port, outcome] (ok: bytes came back; else the error code or "closed").
 */
const CLIENT = `
const net = require("node:net"), tls = require("node:tls");
const o = JSON.parse(process.argv[1]);
const one = (port) => new Promise((resolve) => {
  let got = 0, code = "closed";
  const s = o.tls
    ? tls.connect({ host: o.host, port, rejectUnauthorized: false, minVersion: "TLSv1.3" })
    : net.connect({ host: o.host, port });
  s.once(o.tls ? "secureConnect" : "connect", () => { if (!o.tls) s.write(Buffer.alloc(1000, 7)); });
  s.on("data", (d) => { got += d.length; if (got >= 1000) s.end(); });
  s.on("error", (e) => { code = e.code || "error"; });
  s.on("close", () => resolve([port, got >= 1000 ? "ok" : code]));
  setTimeout(() => s.destroy(), 2000).unref();
});
(async () => {
  const out = [];
  for (let r = 0; r < o.rounds; r++) for (const p of o.ports) {
    out.push(await one(p));
    await new Promise((res) => setTimeout(res, o.gapMs));
  }
  console.log(JSON.stringify(out));
})();
`;

interface Attempts {
  host: string;
  ports: number[];
  tls: boolean;
  gapMs: number;
  rounds: number;
}

function attempts(run: UpResult, node: string, a: Attempts): Promise<[number, string][]> {
  const child = spawnIn(run.plan, node, [process.execPath, "-e", CLIENT, JSON.stringify(a)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  return new Promise((resolve) => child.once("exit", () => resolve(JSON.parse(out))));
}

describe("intrusion detection and prevention in the sidecar mesh", async () => {
  const skip = await needs(["veth", "htb", "nftables"], ["nft"]);
  let run: UpResult | undefined;
  let mesh: SidecarMesh | undefined;
  let echo: ChildProcess | undefined;
  let ids: SidecarIds | undefined;
  let benign: [number, string][][] = [];
  let attacker: AttemptOutcome[] = [];
  let scanner: AttemptOutcome[] = [];

  before(async () => {
    if (skip) return;
    run = await up(line(4, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
    const addr = (node: string) => run!.plan.nodes.find((n) => n.id === node)!.address;
    echo = spawnIn(run.plan, "n1", [process.execPath, "-e", ECHO, addr("n1")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) =>
      createInterface({ input: echo!.stdout! }).once("line", () => resolve()),
    );
    const target = `${addr("n1")}:${APP_PORT}`;
    const web = (n: string) => ({
      app: "web",
      instance: n.slice(1),
      node: n,
      port: PORT,
      routes: [{ to: DB, target }],
    });
    mesh = await startMesh(
      run,
      [
        { app: "db", instance: "0", node: "n1", port: PORT, deliver: [target] },
        web("n0"),
        web("n2"),
        web("n3"),
      ],
      { policy: { allow: [{ from: "spiffe://topocast/web/*", to: DB }] } },
    );
    const ctl = EmulationControlPlane.attach(run.runId);
    ids = new SidecarIds(
      {
        plan: run.plan,
        refusalsPath: mesh.paths.refusals,
        sidecars: sidecarsOf(mesh),
        tripwires: { nodes: ["n1"], ports: TRIPWIRES },
      },
      ctl,
    );
    await ids.start();
    const client = (n: string) => ({
      host: "127.0.0.1",
      ports: [mesh!.sidecar(`spiffe://topocast/web/${n.slice(1)}`).routes[0]!],
      tls: false,
      gapMs: 100,
      rounds: 40,
    });
    const db = addr("n1");
    const t0 = Date.now() + 1500; // the attack processes start (node) before their first attempt
    const attack = runAttempts(
      run.plan,
      "n2",
      Array.from({ length: 40 }, (_, i) => ({ atUnixMs: t0 + i * 100, host: db, port: PORT, tls: true })),
    );
    const scan = runAttempts(
      run.plan,
      "n3",
      [0, 1, 2]
        .flatMap(() => [PORT, ...TRIPWIRES, 9, 7])
        .map((port, i) => ({
          atUnixMs: t0 + i * 50,
          host: db,
          port,
          tls: false,
        })),
    );
    [benign, attacker, scanner] = await Promise.all([
      Promise.all(["n0", "n2", "n3"].map((n) => attempts(run!, n, client(n)))),
      attack.done,
      scan.done,
    ]);
    await ids.close();
  });

  after(async () => {
    await ids?.close();
    await mesh?.close();
    echo?.kill("SIGKILL");
    if (run) await down(run.runId);
    if (run) await assertRunsGone([run.runId]);
  });

  it("blocks the attacker without a certificate and the scanner within 2 s of their first connection", {
    skip,
  }, (t) => {
    const blocks = ids!.prevention.blocks;
    t.diagnostic(JSON.stringify(blocks));
    const bySrc = new Map(blocks.map((b) => [b.src, b]));
    for (const [src, kind] of [
      ["n2", "unauthenticated"],
      ["n3", "port-scan"],
    ] as const) {
      const b = bySrc.get(src);
      assert.ok(b, `${src} blocked; blocks: ${JSON.stringify(blocks)}`);
      assert.equal(b.kind, kind);
      assert.ok(
        b.blockedNs - b.firstSeenNs < 2e9,
        `${src} blocked ${(b.blockedNs - b.firstSeenNs) / 1e6} ms after`,
      );
    }
  });

  it("blocks the unauthenticated workloads only: nobody else, and every benign tunnel was delivered", {
    skip,
  }, () => {
    assert.deepEqual(ids!.prevention.blocks.map((b) => [b.src, b.identity]).sort(), [
      ["n2", "unauthenticated"],
      ["n3", "unauthenticated"],
    ]);
    benign.forEach((tunnels, i) => {
      assert.deepEqual(
        tunnels.filter(([, o]) => o !== "ok"),
        [],
        `client ${i}`,
      );
      assert.equal(tunnels.length, 40);
    });
  });

  it("the blocked attacker's and scanner's later connections are refused at their own namespace", {
    skip,
  }, () => {
    const last5 = (a: AttemptOutcome[]) =>
      [...a]
        .sort((x, y) => x.startUnixMs - y.startUnixMs)
        .slice(-5)
        .map((x) => x.outcome);
    assert.deepEqual(last5(attacker), ["refused", "refused", "refused", "refused", "refused"]);
    assert.deepEqual(last5(scanner), ["refused", "refused", "refused", "refused", "refused"]);
  });
});
