/**
 * `secure: true` virtual links in real namespaces (root): the pair's connections cross the virtual link inside a
 * mutual-TLS 1.3 tunnel between two sidecars (emulate/sidecar/secure-link.ts). Three namespaces on a line:
 *
 *     n0 ---------- n1 ---------- n2
 *     client        attacker      echo app :7000
 *     vl0/src                     vl0/dst
 *
 * The client connects to n2's address as it would without the link; the data must come back intact through both
 * sidecars, and on n2's VXLAN device only TLS to the sidecar may arrive, never the application's port in clear.
 * The attacker opens TLS connections straight to vl0/dst's sidecar without a certificate, with one of another CA,
 * and with a valid certificate of the run CA whose identity the link's policy does not allow: all refused, logged,
 * none reaching the application. removeVirtualLink stops the sidecars and removes their keys and the NAT table; a
 * controller killed by SIGKILL leaves nothing after `cleanup`.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { isAlive, readState } from "../../emulate/run-state.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { RunCa } from "../../emulate/sidecar/ca.ts";
import { keyFiles, meshDir } from "../../emulate/sidecar/run-files.ts";
import { redirectScript, secureLinkIds } from "../../emulate/sidecar/secure-link.ts";
import { cleanup, down, type UpResult, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { APP_PORT, assertGone, killedDriver, runClient, startEcho } from "./fixtures/tls-client.ts";

const TRIES = 3;

describe("the NAT script that sends a pair's connections to the sidecar", () => {
  it("redirects each tunnelled port of the destination to its own listener, after the firewall's filter", () => {
    assert.deepEqual(redirectScript("tcabc123_svl4", "10.0.0.2", [5201, 7000], [41000, 41001]), [
      "add table ip tcabc123_svl4",
      "add chain ip tcabc123_svl4 out { type nat hook output priority 100 ; }",
      "add rule ip tcabc123_svl4 out ip daddr 10.0.0.2 tcp dport 5201 redirect to :41000",
      "add rule ip tcabc123_svl4 out ip daddr 10.0.0.2 tcp dport 7000 redirect to :41001",
    ]);
  });
  it("refuses an unsafe address or a port out of range", () => {
    assert.throws(() => redirectScript("t_svl0", "10.0.0.2; flush ruleset", [1], [2]), /unsafe value/);
    assert.throws(() => redirectScript("t_svl0", "10.0.0.2", [70000], [2]), /port 70000/);
  });
});

describe("secure virtual link in namespaces", async () => {
  const skip = await needs(["veth", "htb", "vxlan", "nftables"], ["nft"]);
  let run: UpResult | undefined;
  let ctl: EmulationControlPlane | undefined;
  let echo: ChildProcess | undefined;
  let appConnections = 0;
  let vl = "";
  const addr = (node: string) => run!.plan.nodes.find((n) => n.id === node)!.address;
  const [SRC, DST] = secureLinkIds(0);
  const linkState = () => readState(run!.runId)!.virtualLinks.find((v) => v.id === vl)!;

  before(async () => {
    if (skip) return;
    run = await up(line(3, { capacityBps: 100e6, delayNs: 1_000_000 }), {
      capabilities: await capabilities(),
    });
    echo = await startEcho(run, "n2", () => appConnections++);
    ctl = EmulationControlPlane.attach(run.runId, { securePorts: [APP_PORT] });
    vl = await ctl.createVirtualLink("n0", "n2", { secure: true, rateBps: 20e6 });
  });

  after(async () => {
    ctl?.close();
    echo?.kill("SIGKILL");
    if (run) await down(run.runId);
    if (run) await assertRunsGone([run.runId]);
  });

  it("reports the link as secure, with its two sidecars running and keys only in the run's mesh directory", {
    skip,
  }, async () => {
    assert.equal(ctl!.virtualLinks().find((v) => v.id === vl)?.secure, true);
    assert.deepEqual(linkState().secure?.sidecars, [SRC, DST]);
    assert.deepEqual(keyFiles(run!.runId).sort(), ["vl0.dst.key", "vl0.src.key"]);
  });

  it("carries the pair's data app -> sidecar -> TLS over the virtual link -> sidecar -> app, and back intact", {
    skip,
  }, async () => {
    const s = linkState().secure!;
    const [, before] = await ctl!.secureLinks.stats(s);
    const seen = appConnections;
    const r = await runClient(run!, "n0", { host: addr("n2"), port: APP_PORT, bytes: 1 << 20, tries: TRIES });
    assert.equal(r.length, TRIES);
    for (const x of r) assert.equal(x.got, x.sent, "the echo came back intact");
    const [src, dst] = await ctl!.secureLinks.stats(s);
    assert.equal(
      dst.delivered - before.delivered,
      TRIES,
      "every connection delivered by the destination sidecar",
    );
    assert.ok(src.opened >= TRIES, "opened by the source sidecar");
    assert.equal(appConnections - seen, TRIES);
  });

  it("puts only TLS to the sidecar on the virtual link, never the application's port in clear", {
    skip,
  }, async () => {
    const s = linkState().secure!;
    const dev = linkState().devs[1];
    const ns = run!.plan.nodes.find((n) => n.id === "n2")!.netns;
    const tlsPort = (await ctl!.secureLinks.endpoint(s)).port;
    const runner = new ProcessRunner();
    const table = `${run!.plan.prefix}_probe`;
    await runner.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], {
      input: [
        `add table ip ${table}`,
        `add chain ip ${table} in { type filter hook prerouting priority -300 ; }`,
        `add rule ip ${table} in iifname "${dev}" tcp dport ${APP_PORT} counter comment "clear"`,
        `add rule ip ${table} in iifname "${dev}" tcp dport ${tlsPort} counter comment "tls"`,
        "",
      ].join("\n"),
    });
    await runClient(run!, "n0", { host: addr("n2"), port: APP_PORT, bytes: 100_000, tries: 1 });
    const listed = await runner.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "ip", table]);
    const counters = new Map<string, number>();
    for (const item of JSON.parse(listed.stdout).nftables as {
      rule?: { comment?: string; expr: unknown[] };
    }[])
      for (const e of item.rule?.expr ?? []) {
        const c = (e as { counter?: { packets: number } }).counter;
        if (c && item.rule?.comment) counters.set(item.rule.comment, c.packets);
      }
    assert.equal(counters.get("clear"), 0, "no packet to the application's port on the virtual link");
    assert.ok((counters.get("tls") ?? 0) > 10, `TLS packets to the sidecar: ${counters.get("tls")}`);
  });

  const ATTACKS = [
    { name: "without a certificate", reason: "no-certificate" },
    { name: "with a certificate of another CA", reason: "wrong-ca" },
    { name: "with a valid run certificate of an identity the link does not allow", reason: "not-allowed" },
  ] as const;
  for (const a of ATTACKS) {
    it(`refuses and logs every connection to the link's sidecar ${a.name} (${a.reason}), none reaching the app`, {
      skip,
    }, async () => {
      const s = linkState().secure!;
      const mesh = await ctl!.secureLinks.runMesh();
      const leaf =
        a.reason === "wrong-ca"
          ? await (await RunCa.create("ffffff")).issue("vl0", "src")
          : a.reason === "not-allowed"
            ? await mesh.ca.issue("intruder", "0")
            : undefined;
      const seen = appConnections;
      const logged = () => mesh.refusals().filter((x) => x.reason === a.reason && x.sidecar === DST).length;
      const before = logged();
      const ep = await ctl!.secureLinks.endpoint(s);
      const r = await runClient(run!, "n1", {
        host: ep.host,
        port: ep.port,
        tls: { ca: mesh.ca.caPem, ...(leaf ? { key: leaf.keyPem, cert: leaf.certPem } : {}) },
        header: JSON.stringify({ op: "open", target: `${addr("n2")}:${APP_PORT}` }),
        bytes: 1000,
        tries: TRIES,
      });
      assert.ok(
        r.every((x) => x.got === ""),
        "no byte came back",
      );
      assert.equal(appConnections, seen, "nothing reached the application");
      assert.equal(logged() - before, TRIES, `${TRIES} refusals logged as ${a.reason}`);
    });
  }

  it("removes the sidecars, their keys and the interception with the link", { skip }, async () => {
    const s = linkState().secure!;
    const mesh = await ctl!.secureLinks.runMesh();
    const pids = mesh.sidecars.map((h) => h.pid);
    assert.equal(pids.length, 2);
    await ctl!.removeVirtualLink(vl);
    assert.ok(!pids.some(isAlive), "no sidecar process left");
    assert.deepEqual(keyFiles(run!.runId), []);
    const ns = run!.plan.nodes.find((n) => n.id === "n0")!.netns;
    const listed = await new ProcessRunner().run(["ip", "netns", "exec", ns, "nft", "list", "tables"]);
    assert.ok(!listed.stdout.includes(s.table), `NAT table ${s.table} removed: ${listed.stdout}`);
    // Without the link the pair's connections go straight to the application again.
    const r = await runClient(run!, "n0", { host: addr("n2"), port: APP_PORT, bytes: 1000, tries: 1 });
    assert.equal(r[0]?.got, r[0]?.sent);
  });
});

/** A controller that builds a 2-node run with a secure virtual link, reports, and waits to be killed. */
const DRIVER = `
import { up } from ${JSON.stringify(new URL("../../emulate/substrate.ts", import.meta.url).pathname)};
import { EmulationControlPlane } from ${JSON.stringify(new URL("../../emulate/control-plane.ts", import.meta.url).pathname)};
import { line } from ${JSON.stringify(new URL("../../sim/substrate/generators.ts", import.meta.url).pathname)};
const run = await up(line(2, { delayNs: 0 }));
const ctl = EmulationControlPlane.attach(run.runId, { securePorts: [7000] });
await ctl.createVirtualLink("n0", "n1", { secure: true });
const mesh = await ctl.secureLinks.runMesh();
console.log(JSON.stringify({ runId: run.runId, pids: mesh.sidecars.map((s) => s.pid) }));
setInterval(() => {}, 1000);
`;

describe("secure virtual link after kill -9 of its controller", async () => {
  const skip = await needs(["veth", "htb", "vxlan", "nftables"], ["nft"]);
  let runId: string | undefined;

  after(async () => {
    if (runId) await cleanup({ runId });
  });

  it("leaves no sidecar, key or namespace after cleanup by run id", { skip }, async () => {
    const started = await killedDriver(DRIVER);
    runId = started.runId;
    assert.deepEqual(await cleanup({ runId }), [runId]);
    await assertGone(started.pids);
    assert.ok(!existsSync(meshDir(runId)), "mesh directory (keys) removed");
    await assertRunsGone([runId]);
    runId = undefined;
  });
});
