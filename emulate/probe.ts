/**
 * probe in emulation: real ICMP echoes along the given path. Each probed path gets, once, its own source address
 * (a /32 from the top of the run's block, on the source's `lo`) and a routing table at every node of the path:
 * forward, `from <probe address> to <destination>` follows the path; backward, `to <probe address>` follows it in
 * reverse, so request and reply both take the path whatever the pair's routes, virtual links or mirrors do (policy
 * rules at priority {@link PROBE_RULE_PRIORITY}, before the interceptors), written through the namespaces' `ip`
 * channels' `probe` lane (emulate/channels.ts: its own process, so a policy's route changes never wait behind a
 * probe path's routes; until stop 28 they shared one, and rl-mesh's route changes took 763 ms median, loaded) the
 * first time the path is probed, and again only after a link of the path came
 * back up ({@link EmulationProbes.linkUp}: taking a device down flushed the routes through it); then `ping -c 5 -i
 * 0.01 -I <probe address>` runs in the source's namespace, started off the controller's event loop by the control
 * plane's spawner (emulate/spawner.ts). (Until stop 27 every probe rewrote its path's routes,
 * one process per node: a probe's call took 0.8 s median on a quiet machine.)
 *
 * Result (the Observation's {@link ProbeResult}): the median RTT of the echoes answered, wall ns (the scaling
 * decorator turns it into simulated ns), or null when none came back or the path crosses a link that is down (then
 * nothing is sent); `availableBps` null (no packet-train estimate yet). `probe` resolves once the echoes are on
 * their way; the result appears in the first observation after they are answered ({@link EmulationProbes.settle}
 * waits for them). Probe traffic is counted ({@link EmulationProbes.overhead}: packets and IP bytes both ways).
 */
import type { NodePath, ProbeResult } from "../models/policies/types.ts";
import { addrAdd, addrDel, type Cmd, netnsExecArgv, routeFlushTable, routeReplace } from "./commands.ts";
import type { ControlContext } from "./control-context.ts";
import type { ProbePathState } from "./run-state.ts";
import { parallel, type Runner } from "./runner.ts";

/** Priority of the probe paths' policy rules (before virtual links' 1000 and pinned routes' 20000). */
export const PROBE_RULE_PRIORITY = 500;
/** Echo requests per probe. */
export const PROBE_ECHOES = 5;
/** IP bytes of one echo request or reply (20 IP + 8 ICMP + 56 payload). */
export const PROBE_PACKET_BYTES = 84;

/** `ping` argv for a probe (numeric, `count` echoes 10 ms apart, each waited for up to `waitS`). */
export function pingArgv(ns: string, from: string, to: string, count = PROBE_ECHOES, waitS = 2): string[] {
  const opts = ["-n", "-c", String(count), "-i", "0.01", "-W", String(waitS), "-I", from];
  return netnsExecArgv(ns, ["ping", ...opts, to]);
}

/**
 * Echoes sent and answered, from ping's summary, and the median RTT (ms) of those answered, from its echo lines
 * (null when none was): the median, because the first echo after an idle spell waits for sleeping processes (a
 * wire's relay) on a busy machine.
 */
export function parsePing(stdout: string): { sent: number; received: number; medianMs: number | null } {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  const times = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
  const mid = times.length >> 1;
  const medianMs =
    times.length === 0 ? null : times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { sent: counts ? Number(counts[1]) : 0, received: counts ? Number(counts[2]) : 0, medianMs };
}

const rule = (verb: "add" | "del", spec: { from?: string; to: string }, table: number): Cmd => [
  "rule",
  verb,
  ...(spec.from ? ["from", `${spec.from}/32`] : []),
  "to",
  `${spec.to}/32`,
  "table",
  String(table),
  "priority",
  String(PROBE_RULE_PRIORITY),
];

export class EmulationProbes {
  private readonly done: ProbeResult[] = [];
  private readonly pending = new Set<Promise<void>>();
  /** Probe paths (keys) whose routes this control plane has written and no link of which has come up since. */
  private readonly installed = new Set<string>();
  /** Probe traffic so far: echoes sent plus replies received, and their IP bytes. */
  readonly overhead = { probes: 0, packets: 0, bytes: 0 };

  /** @param runner runs the pings (default the context's; the control plane gives its off-loop spawner). */
  constructor(
    private readonly ctx: ControlContext,
    private readonly runner: Runner = ctx.runner,
  ) {}

  private get paths(): Record<string, ProbePathState> {
    this.ctx.state.probePaths ??= {};
    return this.ctx.state.probePaths;
  }

  /**
   * Sends a probe along `path` (see the module doc).
   * @throws UnknownNodeError, NoPathError (not a path of the substrate)
   */
  async send(path: NodePath): Promise<void> {
    const { ctx } = this;
    const u = ctx.node(path[0] ?? "");
    const v = ctx.node(path.at(-1) ?? "");
    const lost = () =>
      this.done.push({ path: [...path], rttNs: null, availableBps: null, timeNs: ctx.nowNs() });
    if (ctx.downLink(u, v, path)) {
      lost();
      return;
    }
    let st: ProbePathState;
    try {
      st = await this.install(path, ctx.resolvePath(u, v, path));
    } catch (e) {
      // A link of the path went down while its routes went in: lost, as a probe over a down link.
      if (!ctx.downLink(u, v, path)) throw e;
      lost();
      return;
    }
    this.overhead.probes++;
    const run = this.runner.run(pingArgv(ctx.ns(u), st.address, ctx.addr(v)), { check: false }).then((r) => {
      const p = parsePing(r.stdout);
      this.overhead.packets += p.sent + p.received;
      this.overhead.bytes += (p.sent + p.received) * PROBE_PACKET_BYTES;
      this.done.push({
        path: [...path],
        rttNs: p.medianMs !== null ? Math.round(p.medianMs * 1e6) : null,
        availableBps: null,
        timeNs: ctx.nowNs(),
      });
    });
    const tracked = run.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /**
   * A cable between nodes `a` and `b` (indices) came back up: the probe paths crossing it get their routes again at
   * their next probe.
   */
  linkUp(a: number, b: number): void {
    for (const key of this.installed) {
      const nodes = this.paths[key]?.path.map((id) => this.ctx.node(id)) ?? [];
      const crosses = nodes.some(
        (x, i) => i > 0 && ((nodes[i - 1] === a && x === b) || (nodes[i - 1] === b && x === a)),
      );
      if (crosses) this.installed.delete(key);
    }
  }

  /**
   * Sets up the path's address, rules and table the first time, and writes its routes when they are not known to
   * be in place (first probe from this control plane, or a link of the path came back up since).
   */
  private async install(
    path: NodePath,
    r: ReturnType<ControlContext["resolvePath"]>,
  ): Promise<ProbePathState> {
    const { ctx } = this;
    const key = path.join(",");
    let st = this.paths[key];
    if (st && this.installed.has(key)) return st;
    const fresh = st === undefined;
    if (!st) {
      const table = ctx.state.nextTable++;
      st = { path: [...path], address: ctx.takeAddresses().a, table, rulePriority: PROBE_RULE_PRIORITY };
      this.paths[key] = st;
      ctx.save();
    }
    const { nodes, hops } = r;
    const u = nodes[0]!;
    const v = nodes.at(-1)!;
    const dst = ctx.addr(v);
    const cmds = new Map<number, Cmd[]>(nodes.map((i) => [i, []]));
    const add = (i: number, ...c: Cmd[]) => cmds.get(i)!.push(...c);
    if (fresh) add(u, addrAdd("lo", `${st.address}/32`));
    hops.forEach((h, i) => {
      const x = nodes[i]!;
      const y = nodes[i + 1]!;
      add(x, routeReplace({ dst: `${dst}/32`, via: h.far.address, dev: h.near.dev, table: st.table }));
      add(y, routeReplace({ dst: `${st.address}/32`, via: h.near.address, dev: h.far.dev, table: st.table }));
      if (fresh) {
        add(x, rule("add", { from: st.address, to: dst }, st.table));
        add(y, rule("add", { to: st.address }, st.table));
      }
    });
    await parallel(
      nodes,
      (i) => ctx.commands.batch("ip", ctx.ns(i), cmds.get(i)!, { lane: "probe" }),
      Math.max(1, nodes.length),
    );
    this.installed.add(key);
    return st;
  }

  /** Waits until every probe sent so far has its result. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Probe results completed since the last consuming call, in completion order (wall-clock RTTs). */
  results(consume: boolean): ProbeResult[] {
    const out = [...this.done];
    if (consume) this.done.length = 0;
    return out;
  }

  /** Removes every probe path's rules, tables and addresses (after the probes in flight). */
  async clear(): Promise<void> {
    const { ctx } = this;
    await this.settle();
    for (const st of Object.values(this.paths)) {
      const nodes = st.path.map((id) => ctx.node(id));
      const dst = ctx.addr(nodes.at(-1)!);
      await parallel(nodes, async (i, j) => {
        const cmds: Cmd[] = [
          ...(j < nodes.length - 1 ? [rule("del", { from: st.address, to: dst }, st.table)] : []),
          ...(j > 0 ? [rule("del", { to: st.address }, st.table)] : []),
          routeFlushTable(st.table),
          ...(j === 0 ? [addrDel("lo", `${st.address}/32`)] : []),
        ];
        await ctx.commands.batch("ip", ctx.ns(i), cmds, { check: false, lane: "probe" });
      });
    }
    ctx.state.probePaths = {};
    this.installed.clear();
    ctx.save();
  }
}
