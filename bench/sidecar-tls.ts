/**
 * The sidecar mesh's cost (root): goodput of one TCP flow through a mutual-TLS tunnel (app -> sidecar -> TLS 1.3 ->
 * sidecar -> app, emulate/sidecar/) against plain TCP over the same veth pair shaped by htb, at 100 Mbit/s and
 * 1 Gbit/s; the sidecars' CPU per GB carried; and the set-up time of a tunnel (TCP connect + TLS 1.3 handshake with
 * mutual authentication, ECDSA P-256) on a link without delay, which is the handshake's processing cost alone.
 *
 * Method: a 2-node line (`delay 0`, htb at the rate), sidecar a/0 on n0 with a route to b/0 on n1, iperf3 servers on
 * n1. Plain and tunnel runs alternate (plain, tunnel, x3, `SECONDS` each) so drift of the shared machine hits both;
 * goodput is iperf3's received rate; the median of the three is reported, every run listed. CPU is utime + stime
 * of both sidecar processes (/proc/<pid>/stat) over the tunnel run, per GB the receiver got. Set-up: `HANDSHAKES`
 * connections one after another through the route, each carrying one byte and its echo; the sidecar's own
 * `setupMs` (from the application's connect to the authenticated session with the far sidecar).
 *
 * These numbers are the simulator's TLS cost inputs (models/sidecar-costs.ts says which it takes).
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { probe } from "../emulate/capabilities.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { type SidecarMesh, startMesh } from "../emulate/sidecar/mesh.ts";
import { down, exec, spawnIn, type UpResult, up } from "../emulate/substrate.ts";
import { line } from "../sim/substrate/generators.ts";
import type { BenchResult } from "./run.ts";

const SECONDS = 3;
const HANDSHAKES = 40;
const CLK_TCK = 100;
const B = "spiffe://topocast/b/0";

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** One iperf3 flow from n0 to `host:port`; goodput (bits/s) and bytes the receiver got. */
async function iperf(run: UpResult, host: string, port: number) {
  const r = await exec(run.runId, "n0", [
    "iperf3",
    "-c",
    host,
    "-p",
    String(port),
    "-t",
    String(SECONDS),
    "-J",
  ]);
  if (r.code !== 0) throw new Error(`iperf3 -> ${host}:${port}: ${r.stdout.slice(0, 400)} ${r.stderr}`);
  const end = JSON.parse(r.stdout).end;
  return { bps: end.sum_received.bits_per_second as number, bytes: end.sum_received.bytes as number };
}

const ECHO = `
const s = require("node:net").createServer((c) => { c.pipe(c); c.on("error", () => {}); });
s.listen(Number(process.argv[2]), process.argv[1]);
`;

const HANDSHAKE_CLIENT = `
const net = require("node:net");
(async () => {
  for (let i = 0; i < Number(process.argv[2]); i++)
    await new Promise((resolve) => {
      const s = net.connect(Number(process.argv[1]), "127.0.0.1", () => s.write("x"));
      s.once("data", () => s.end());
      s.on("error", resolve);
      s.on("close", resolve);
    });
})();
`;

async function goodput(run: UpResult, mesh: SidecarMesh, n1: string) {
  const pids = mesh.sidecars.map((s) => s.pid);
  const tunnelPort = mesh.sidecar("spiffe://topocast/a/0").routes[0]!;
  const runs: {
    plainMbps: number;
    tlsMbps: number;
    ratio: number;
    sidecarCpuSeconds: number;
    cpuSecondsPerGB: number;
  }[] = [];
  for (let i = 0; i < 3; i++) {
    const plain = await iperf(run, n1, 5201);
    const cpu0 = cpuSeconds(pids);
    const tls = await iperf(run, "127.0.0.1", tunnelPort);
    const cpu = cpuSeconds(pids) - cpu0;
    runs.push({
      plainMbps: round(plain.bps / 1e6, 1),
      tlsMbps: round(tls.bps / 1e6, 1),
      ratio: round(tls.bps / plain.bps),
      sidecarCpuSeconds: round(cpu, 2),
      cpuSecondsPerGB: round(cpu / (tls.bytes / 1e9), 2),
    });
  }
  return {
    plainMbps: median(runs.map((r) => r.plainMbps)),
    tlsMbps: median(runs.map((r) => r.tlsMbps)),
    ratio: median(runs.map((r) => r.ratio)),
    cpuSecondsPerGB: median(runs.map((r) => r.cpuSecondsPerGB)),
    runs,
  };
}

async function handshakes(run: UpResult, mesh: SidecarMesh) {
  const a = "spiffe://topocast/a/0";
  const before = (await mesh.stats(a)).setupMs.length;
  const port = mesh.sidecar(a).routes[1]!;
  const child = spawnIn(run.plan, "n0", [
    process.execPath,
    "-e",
    HANDSHAKE_CLIENT,
    String(port),
    String(HANDSHAKES),
  ]);
  await new Promise((resolve) => child.once("exit", resolve));
  const ms = (await mesh.stats(a)).setupMs.slice(before);
  if (ms.length !== HANDSHAKES)
    throw new Error(`expected ${HANDSHAKES} tunnels, the sidecar opened ${ms.length}`);
  return {
    count: ms.length,
    medianMs: round(median(ms)),
    p90Ms: round(quantile(ms, 0.9)),
    maxMs: round(Math.max(...ms)),
  };
}

async function atRate(rateBps: number, capabilities: Awaited<ReturnType<typeof probe>>) {
  const run = await up(line(2, { capacityBps: rateBps, delayNs: 0 }), { capabilities });
  const n1 = run.plan.nodes.find((n) => n.id === "n1")!.address;
  const servers = [
    spawnIn(run.plan, "n1", ["iperf3", "-s", "-B", n1, "-p", "5201"]),
    spawnIn(run.plan, "n1", ["iperf3", "-s", "-B", n1, "-p", "5202"]),
    spawnIn(run.plan, "n1", [process.execPath, "-e", ECHO, n1, "5203"]),
  ];
  let mesh: SidecarMesh | undefined;
  try {
    mesh = await startMesh(
      run,
      [
        {
          app: "a",
          instance: "0",
          node: "n0",
          port: 15001,
          routes: [
            { to: B, target: `${n1}:5202` },
            { to: B, target: `${n1}:5203` },
          ],
        },
        { app: "b", instance: "0", node: "n1", port: 15001, deliver: [`${n1}:5202`, `${n1}:5203`] },
      ],
      { policy: { allow: [{ from: "spiffe://topocast/a/0", to: B }] } },
    );
    await sleep(300);
    return { rateMbps: rateBps / 1e6, ...(await goodput(run, mesh, n1)), setup: await handshakes(run, mesh) };
  } finally {
    await mesh?.close();
    for (const s of servers) s.kill();
    await down(run.runId);
  }
}

export async function run(): Promise<BenchResult> {
  const capabilities = await probe(new ProcessRunner());
  const load = loadavg();
  const rates = [];
  for (const r of [100e6, 1e9]) rates.push(await atRate(r, capabilities));
  return {
    what: "mTLS sidecar tunnel vs plain TCP, one iperf3 flow over a veth pair shaped by htb; tunnel set-up on a 0-delay link",
    note: "machine shared with other agents (2 cores): figures are indicative; loadavg before and after",
    loadavg: { before: load.map((x) => round(x, 2)), after: loadavg().map((x) => round(x, 2)) },
    seconds: SECONDS,
    rates,
  };
}
