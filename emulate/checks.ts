/**
 * Checks of the emulated links before traffic starts: each cable's achieved round-trip time (ping) and each
 * directed link's achieved rate (iperf3), against what was configured.
 */
import { round3 } from "./emulation-overhead.ts";
import type { Plan } from "./plan.ts";
import { parallel, type Runner } from "./runner.ts";

/** A link's configured and measured round-trip time over its own devices, in wall ms of the emulated network. */
export interface LinkCheck {
  /** The cable's directed link ids. */
  link: string;
  configuredRttMs: number;
  /** Smallest and mean RTT of the pings, ms; null when all were lost. */
  minRttMs: number | null;
  meanRttMs: number | null;
  sent: number;
  received: number;
}

/**
 * The achieved delay of every link: `count` pings (200 ms apart) from each cable's `a` end to its `b` end's address,
 * all cables at once. Without `ping` on PATH, returns [] (the manifest then says delays were not measured).
 */
export async function checkLinks(
  runner: Runner,
  plan: Plan,
  ping: string | null,
  count = 5,
): Promise<LinkCheck[]> {
  if (ping === null) return [];
  return parallel(
    plan.links,
    async (lp) => {
      const r = await runner.run(
        [
          "ip",
          "netns",
          "exec",
          plan.nodes[lp.a.node]!.netns,
          ping,
          "-n",
          "-c",
          String(count),
          "-i",
          "0.2",
          "-W",
          "2",
          lp.b.address,
        ],
        { check: false },
      );
      const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
      const configured = (lp.a.inDelayNs + lp.b.inDelayNs) / 1e6;
      return {
        link: lp.ids.filter((x) => x !== null).join(" / "),
        configuredRttMs: round3(configured),
        minRttMs: times.length ? round3(Math.min(...times)) : null,
        meanRttMs: times.length ? round3(times.reduce((a, b) => a + b, 0) / times.length) : null,
        sent: count,
        received: times.length,
      };
    },
    plan.links.length,
  );
}

/** A directed link's configured and achieved rate (iperf3 TCP goodput over the link alone), emulated bits/s. */
export interface RateCheck {
  link: string;
  rateBps: number | null;
  /** iperf3's received goodput (TCP payload), bits/s; null when the test failed. */
  goodputBps: number | null;
}

/**
 * The achieved rate of every directed link, one at a time (so they do not compete for the CPU): an iperf3 server
 * on the far end's link address, a client at the near end for `seconds` after one omitted second of slow start.
 * Goodput counts TCP payload, about 96% of the frames' rate at a 1500-byte MTU.
 */
export async function checkRates(
  runner: Runner,
  plan: Plan,
  iperf3: string,
  seconds = 2,
  signal?: AbortSignal,
): Promise<RateCheck[]> {
  const out: RateCheck[] = [];
  for (const lp of plan.links) {
    for (const [i, id] of lp.ids.entries()) {
      if (id === null || signal?.aborted) continue;
      const [near, far] = i === 0 ? [lp.a, lp.b] : [lp.b, lp.a];
      const nsOf = (node: number) => plan.nodes[node]!.netns;
      const server = runner.run(
        ["ip", "netns", "exec", nsOf(far.node), iperf3, "-s", "-1", "-B", far.address],
        {
          check: false,
          timeoutMs: (seconds + 15) * 1000,
        },
      );
      const serverDone = server.catch(() => ({ code: 1, stdout: "", stderr: "" }));
      await new Promise((r) => setTimeout(r, 300));
      const client = await runner.run(
        [
          "ip",
          "netns",
          "exec",
          nsOf(near.node),
          iperf3,
          "-c",
          far.address,
          "-t",
          String(seconds),
          "-O",
          "1",
          "-J",
        ],
        { check: false, timeoutMs: (seconds + 15) * 1000 },
      );
      await serverDone;
      let goodputBps: number | null = null;
      try {
        const bps = (JSON.parse(client.stdout) as { end?: { sum_received?: { bits_per_second?: number } } })
          .end?.sum_received?.bits_per_second;
        goodputBps = typeof bps === "number" ? Math.round(bps) : null;
      } catch {
        goodputBps = null;
      }
      out.push({ link: id, rateBps: near.rateBps, goodputBps });
    }
  }
  return out;
}
