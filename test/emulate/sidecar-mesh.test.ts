/**
 * The sidecar mesh in real namespaces (root): real TLS 1.3 with mutual authentication between sidecar processes,
 * the zero-trust policy, refusals logged, teardown. Four namespaces on a line of veths (100 Mbit/s, htb):
 *
 *     n0 ---------- n1 ---------- n2 ---------- n3
 *     web/0         relay/0       db/0          attacker (no sidecar)
 *     guest/0                     echo app :7000
 *
 * Policy: web/* -> db/0, web/0 -> relay/0. guest/0 has a valid certificate but no rule.
 * The attacker opens TLS connections straight to db/0's sidecar with: no certificate, a revoked one, one of
 * another CA, an expired one, a valid one of an identity no rule allows; and plain TCP (a scan). Every one must be
 * refused and logged with its reason, and none may reach the echo application.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { isAlive } from "../../emulate/run-state.ts";
import { type LeafCredentials, RunCa } from "../../emulate/sidecar/ca.ts";
import { type SidecarMesh, startMesh } from "../../emulate/sidecar/mesh.ts";
import { cleanupSidecars, keyFiles, meshDir } from "../../emulate/sidecar/run-files.ts";
import type { RefusalReason } from "../../emulate/sidecar/sidecar.ts";
import { cleanup, down, spawnIn, type UpResult, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { APP_PORT, assertGone, killedDriver, runClient, startEcho } from "./fixtures/tls-client.ts";

const PORT = 15001;
const TRIES = 5;
const DB = "spiffe://topocast/db/0";
const RELAY = "spiffe://topocast/relay/0";

describe("sidecar mesh in namespaces", async () => {
  const skip = await needs(["veth", "htb"]);
  let run: UpResult | undefined;
  let mesh: SidecarMesh | undefined;
  let echo: ChildProcess | undefined;
  let appConnections = 0;
  const addr = (node: string) => run!.plan.nodes.find((n) => n.id === node)!.address;
  const bad = new Map<string, LeafCredentials | undefined>();
  let caPem = "";

  before(async () => {
    if (skip) return;
    run = await up(line(4, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
    echo = await startEcho(run, "n2", () => appConnections++);
    const target = `${addr("n2")}:${APP_PORT}`;
    mesh = await startMesh(
      run,
      [
        { app: "db", instance: "0", node: "n2", port: PORT, deliver: [target], controlPort: PORT + 100 },
        { app: "relay", instance: "0", node: "n1", port: PORT },
        {
          app: "web",
          instance: "0",
          node: "n0",
          port: PORT,
          routes: [
            { to: DB, target },
            { to: DB, target, via: RELAY },
          ],
        },
        { app: "guest", instance: "0", node: "n0", port: PORT + 1, routes: [{ to: DB, target }] },
      ],
      {
        policy: {
          allow: [
            { from: "spiffe://topocast/web/*", to: DB },
            { from: "spiffe://topocast/web/0", to: RELAY },
          ],
        },
      },
    );
    caPem = mesh.ca.caPem;
    const revoked = await mesh.ca.issue("web", "7");
    await mesh.revoke(revoked.serial);
    const past = Date.now() - 3 * 3_600_000;
    bad.set("no-certificate", undefined);
    bad.set("revoked", revoked);
    bad.set("wrong-ca", await (await RunCa.create("ffffff")).issue("web", "5"));
    bad.set(
      "expired",
      await mesh.ca.issue("web", "6", { notBefore: new Date(past), notAfter: new Date(past + 3_600_000) }),
    );
    bad.set("not-allowed", await mesh.ca.issue("intruder", "0"));
  });

  after(async () => {
    await mesh?.close();
    echo?.kill("SIGKILL");
    if (run) await down(run.runId);
    if (run) await assertRunsGone([run.runId]);
  });

  it("writes keys only under the run's mesh directory, mode 0600", { skip }, () => {
    const keys = keyFiles(run!.runId);
    assert.deepEqual(keys.sort(), ["db.0.key", "guest.0.key", "relay.0.key", "web.0.key"]);
    for (const k of keys) assert.equal(statSync(`${mesh!.paths.keys}/${k}`).mode & 0o777, 0o600);
    assert.equal(statSync(mesh!.paths.root).mode & 0o777, 0o700);
  });

  for (const [name, route] of [
    ["directly", 0],
    ["through the relay sidecar", 1],
  ] as const) {
    it(`carries an allowed client's data ${name}: app -> sidecar -> TLS -> sidecar -> app and back`, {
      skip,
    }, async () => {
      const before = await mesh!.stats(DB);
      const port = mesh!.sidecar("spiffe://topocast/web/0").routes[route]!;
      const r = await runClient(run!, "n0", { host: "127.0.0.1", port, bytes: 1 << 20, tries: 3 });
      for (const x of r) assert.equal(x.got, x.sent, "the echo came back intact");
      const after = await mesh!.stats(DB);
      assert.equal(after.delivered - before.delivered, 3);
      if (route === 1) assert.equal((await mesh!.stats(RELAY)).relayed, 3);
    });
  }

  it("refuses a sidecar with a valid certificate that no rule allows (not-allowed), delivering nothing", {
    skip,
  }, async () => {
    const seen = appConnections;
    const port = mesh!.sidecar("spiffe://topocast/guest/0").routes[0]!;
    const r = await runClient(run!, "n0", { host: "127.0.0.1", port, bytes: 1000, tries: TRIES });
    assert.ok(r.every((x) => x.got === ""));
    assert.equal(appConnections, seen);
    const logged = mesh!.refusals().filter((x) => x.peerId === "spiffe://topocast/guest/0");
    assert.equal(logged.length, TRIES);
    assert.ok(logged.every((x) => x.reason === "not-allowed" && x.sidecar === DB));
  });

  const ATTACKS: { name: string; creds: string; reason: RefusalReason }[] = [
    { name: "without a certificate", creds: "no-certificate", reason: "no-certificate" },
    { name: "with a revoked certificate", creds: "revoked", reason: "revoked" },
    { name: "with a certificate of another CA", creds: "wrong-ca", reason: "wrong-ca" },
    { name: "with an expired certificate", creds: "expired", reason: "expired" },
    { name: "with a valid certificate no rule allows", creds: "not-allowed", reason: "not-allowed" },
  ];
  for (const a of ATTACKS) {
    it(`refuses and logs 100% of an attacker's connections ${a.name} (${a.reason}), 0 accepted`, {
      skip,
    }, async () => {
      const seen = appConnections;
      const before = (await mesh!.stats(DB)).authorized;
      const count = () =>
        mesh!.refusals().filter((x) => x.reason === a.reason && x.peer.startsWith(`${addr("n3")}:`));
      const logged = count().length;
      const leaf = bad.get(a.creds);
      const r = await runClient(run!, "n3", {
        host: addr("n2"),
        port: PORT,
        tls: { ca: caPem, ...(leaf ? { key: leaf.keyPem, cert: leaf.certPem } : {}) },
        header: JSON.stringify({ op: "open", target: `${addr("n2")}:${APP_PORT}` }),
        bytes: 1000,
        tries: TRIES,
      });
      assert.equal(r.length, TRIES);
      assert.ok(
        r.every((x) => x.got === ""),
        "no byte came back",
      );
      assert.equal(appConnections, seen, "nothing reached the application");
      assert.equal(
        count().length - logged,
        TRIES,
        `${TRIES} refusals logged as ${a.reason}: ${JSON.stringify(mesh!.refusals().slice(-TRIES))}`,
      );
      assert.equal((await mesh!.stats(DB)).authorized, before, "none authorized");
      assert.ok(((await mesh!.stats(DB)).refused[a.reason] ?? 0) >= TRIES);
    });
  }

  it("refuses a plain TCP scan of the sidecar port (handshake-failed)", { skip }, async () => {
    const seen = appConnections;
    const count = () => mesh!.refusals().filter((x) => x.reason === "handshake-failed").length;
    const logged = count();
    const r = await runClient(run!, "n3", { host: addr("n2"), port: PORT, bytes: 100, tries: TRIES });
    // The TLS server may answer the garbage with an alert record before closing: nothing else may come back.
    const ALERT = 21;
    assert.ok(
      r.every((x) => x.records.every((t) => t === ALERT)),
      `only TLS alerts came back: ${JSON.stringify(r.map((x) => x.records))}`,
    );
    assert.equal(appConnections, seen);
    assert.equal(count() - logged, TRIES);
  });

  const NEGOTIATIONS: {
    from: string;
    target: () => string;
    reply: { accept: boolean; rule?: number; reason?: string };
  }[] = [
    {
      from: "spiffe://topocast/web/0",
      target: () => `${addr("n2")}:${APP_PORT}`,
      reply: { accept: true, rule: 0 },
    },
    {
      from: "spiffe://topocast/guest/0",
      target: () => `${addr("n2")}:${APP_PORT}`,
      reply: { accept: false, reason: "not-allowed" },
    },
    {
      from: "spiffe://topocast/web/0",
      target: () => `${addr("n2")}:22`,
      reply: { accept: false, reason: "target-not-allowed" },
    },
  ];
  for (const n of NEGOTIATIONS) {
    it(`negotiates over gRPC (mutual TLS): db/0 ${n.reply.accept ? "accepts" : `refuses (${n.reply.reason})`} ${n.from}`, {
      skip,
    }, async () => {
      const reply = await mesh!.negotiate(n.from, DB, { target: n.target() });
      assert.deepEqual(reply, { sidecar: DB, ...n.reply });
      if (!n.reply.accept) {
        const last = mesh!
          .refusals()
          .filter((x) => x.detail?.startsWith("negotiation"))
          .at(-1);
        assert.equal(last?.reason, n.reply.reason);
        assert.equal(last?.peerId, n.from, "the caller's identity comes from its certificate");
      }
    });
  }

  it("closes the open tunnels of an identity when its certificate is revoked", { skip }, async () => {
    const port = mesh!.sidecar("spiffe://topocast/web/0").routes[0]!;
    const child = spawnIn(
      run!.plan,
      "n0",
      [
        process.execPath,
        "-e",
        `
      const s = require("node:net").connect(${port}, "127.0.0.1", () => { s.write("x"); });
      s.on("data", () => console.log("echo"));
      s.on("close", () => { console.log("closed"); process.exit(0); });
      s.on("error", () => {});
    `,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const lines = createInterface({ input: child.stdout! });
    const events: string[] = [];
    const closed = new Promise<void>((resolve) =>
      lines.on("line", (l) => {
        events.push(l);
        if (l === "closed") resolve();
      }),
    );
    for (let i = 0; !events.includes("echo"); i++) {
      assert.ok(i < 250, "the tunnel carried the first byte within 5 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await mesh!.revoke("spiffe://topocast/web/0"), 1);
    await closed;
    assert.deepEqual(events, ["echo", "closed"]);
    assert.ok(mesh!.refusals().some((x) => x.peerId === "spiffe://topocast/web/0" && x.reason === "revoked"));
  });

  it("stops every sidecar and removes every key at teardown", { skip }, async () => {
    const pids = mesh!.sidecars.map((s) => s.pid);
    assert.ok(pids.every(isAlive));
    await mesh!.close();
    assert.ok(!pids.some(isAlive), "no sidecar process left");
    assert.ok(!existsSync(meshDir(run!.runId)), "mesh directory (keys) removed");
    assert.deepEqual(keyFiles(run!.runId), []);
  });
});

/** A driver that builds a 2-node run with a mesh, reports, and waits to be killed. */
const DRIVER = `
import { up } from ${JSON.stringify(new URL("../../emulate/substrate.ts", import.meta.url).pathname)};
import { startMesh } from ${JSON.stringify(new URL("../../emulate/sidecar/mesh.ts", import.meta.url).pathname)};
import { line } from ${JSON.stringify(new URL("../../sim/substrate/generators.ts", import.meta.url).pathname)};
const run = await up(line(2, { delayNs: 0 }));
const mesh = await startMesh(run, [
  { app: "a", instance: "0", node: "n0", port: 15001 },
  { app: "b", instance: "0", node: "n1", port: 15001 },
], { policy: { allow: [] } });
console.log(JSON.stringify({ runId: run.runId, pids: mesh.sidecars.map((s) => s.pid) }));
setInterval(() => {}, 1000);
`;

describe("sidecar mesh after kill -9 of its driver", async () => {
  const skip = await needs(["veth", "htb"]);
  let runId: string | undefined;

  after(async () => {
    if (runId) {
      cleanupSidecars({ runId });
      await cleanup({ runId });
    }
  });

  it("leaves no sidecar, key or namespace after cleanup by run id", { skip }, async () => {
    const started = await killedDriver(DRIVER);
    runId = started.runId;
    assert.deepEqual(cleanupSidecars({ runId }), [runId]);
    assert.deepEqual(await cleanup({ runId }), [runId]);
    await assertGone(started.pids);
    assert.ok(!existsSync(meshDir(runId)), "mesh directory (keys) removed");
    await assertRunsGone([runId]);
    runId = undefined;
  });
});
