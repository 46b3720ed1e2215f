/**
 * setRoute in emulation, batched: a pair's pinned route is a policy rule at the source (`iif lo to <dst>`) and at
 * every transit node (`from <src> to <dst>`) into a per-pair table holding the next hop (emulate/control-plane.ts's
 * module doc). The calls a policy makes without awaiting each (PathMesh.place, intent routing) are gathered until
 * the event loop turns (`setImmediate`) and go in as **one request per namespace** on the namespace's `ip -batch`
 * channel (emulate/channels.ts), the namespaces at once: the old routes' rules and tables removed, the new ones
 * added, in call order. Measured before on sidecar-mesh's emulated oracle (loaded machine): 16-86 route changes
 * per run awaited one by one, two requests per path node each plus a state-file write, 26-123 ms median each and up
 * to 1.7 s, so an interval's changes reached the data plane over seconds while traffic ran.
 *
 * Outcomes stay per call: every line is tried (`-force`) and the channel reports each failing line, so a change
 * whose own lines failed is rejected alone (its new rules and table removed again, as a failed setRoute leaves
 * the pair on its default route: `LinkDownError` when its path crossed a link that went down meanwhile, else the
 * `EmulationError` naming the command), and the others resolve; the recording decorator records each call, and
 * the journal undoes each (its undo calls issued together are batched too). A removal that fails (already gone)
 * is not a failure. Calls made while a batch is in flight form the next batch, so a pair's changes apply in call
 * order. The run state is written once per batch.
 */
import { LinkDownError, type NodePath, type Pair, pairKey } from "../models/policies/types.ts";
import { type Cmd, routeAdd, routeFlushTable, ruleAdd, ruleDel } from "./commands.ts";
import type { ControlContext, Hop } from "./control-context.ts";
import { EmulationError } from "./errors.ts";
import type { RouteState } from "./run-state.ts";
import { parallel } from "./runner.ts";

/** Priority of pinned routes' policy rules (after probes' 500 and virtual links' 1000..10999). */
export const ROUTE_RULE_PRIORITY = 20_000;

/** One setRoute call waiting for its batch. */
interface Change {
  pair: Pair;
  path: NodePath | null;
  resolved: { nodes: number[]; hops: Hop[] } | undefined;
  resolve(): void;
  reject(e: unknown): void;
}

/** A batch's line: its command, the change it belongs to, and whether it adds (a failure fails the change). */
interface Line {
  cmd: Cmd;
  change: number;
  adds: boolean;
}

export class EmulationRoutes {
  private queue: Change[] = [];
  private scheduled = false;
  private running = false;
  /** Batches sent and the changes they held (for measurements and tests). */
  readonly stats = { batches: 0, changes: 0, requests: 0 };

  constructor(private readonly ctx: ControlContext) {}

  /**
   * Pins `pair` to `path` (null: back to the default routes) in the next batch (queued before this returns);
   * settles when that batch is in. Rejects with UnknownNodeError, NoPathError or LinkDownError for a path that
   * cannot be pinned (at once, nothing queued).
   */
  async set(pair: Pair, path: NodePath | null): Promise<void> {
    const u = this.ctx.node(pair.src);
    const v = this.ctx.node(pair.dst);
    const resolved = path ? this.ctx.resolvePath(u, v, path) : undefined;
    return new Promise((resolve, reject) => {
      this.queue.push({ pair: { src: pair.src, dst: pair.dst }, path, resolved, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once every change asked for so far is in. */
  async settle(): Promise<void> {
    while (this.queue.length > 0 || this.running || this.scheduled)
      await new Promise((ok) => setImmediate(ok));
  }

  private kick(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = true;
      const batch = this.queue.splice(0);
      void this.flush(batch)
        .catch((e: unknown) => {
          for (const c of batch) c.reject(e);
        })
        .finally(() => {
          this.running = false;
          if (this.queue.length > 0) this.kick();
        });
    });
  }

  /** The lines removing a pinned route (its rules and table at every node but the last). */
  private removal(r: RouteState, change: number): [number, Line][] {
    return r.path.slice(0, -1).flatMap((id) => {
      const i = this.ctx.node(id);
      return [
        [i, { cmd: ruleDel(r.rulePriority), change, adds: false }],
        [i, { cmd: routeFlushTable(r.table), change, adds: false }],
      ] as [number, Line][];
    });
  }

  /** The lines pinning `pair` along `resolved` into a new table; the route's state. */
  private addition(
    resolved: { nodes: number[]; hops: Hop[] },
    change: number,
  ): { lines: [number, Line][]; route: RouteState } {
    const { ctx } = this;
    const u = resolved.nodes[0]!;
    const v = resolved.nodes.at(-1)!;
    const table = ctx.state.nextTable++;
    const rulePriority = ROUTE_RULE_PRIORITY + (table % 10_000);
    const to = `${ctx.addr(v)}/32`;
    const lines = resolved.hops.flatMap((h, k) => {
      const x = resolved.nodes[k]!;
      const src = x === u ? ctx.addr(u) : undefined;
      const rule = ruleAdd(
        x === u
          ? { local: true, to, table, priority: rulePriority }
          : { from: `${ctx.addr(u)}/32`, to, table, priority: rulePriority },
      );
      return [
        [
          x,
          { cmd: routeAdd({ dst: to, via: h.far.address, dev: h.near.dev, src, table }), change, adds: true },
        ],
        [x, { cmd: rule, change, adds: true }],
      ] as [number, Line][];
    });
    return { lines, route: { path: resolved.nodes.map((i) => ctx.plan.nodes[i]!.id), table, rulePriority } };
  }

  /** One batch: every change's lines, one request per namespace, the namespaces at once; then each outcome. */
  private async flush(batch: Change[]): Promise<void> {
    const { ctx } = this;
    const byNode = new Map<number, Line[]>();
    const put = (pairs: [number, Line][]) => {
      for (const [i, l] of pairs) {
        const lines = byNode.get(i);
        if (lines) lines.push(l);
        else byNode.set(i, [l]);
      }
    };
    const routes = batch.map((c, k) => {
      const key = pairKey(c.pair.src, c.pair.dst);
      const old = ctx.state.routes[key];
      if (old) put(this.removal(old, k));
      delete ctx.state.routes[key];
      if (!c.resolved) return { key, route: undefined };
      const { lines, route } = this.addition(c.resolved, k);
      put(lines);
      ctx.state.routes[key] = route;
      return { key, route };
    });
    this.stats.batches++;
    this.stats.changes += batch.length;
    this.stats.requests += byNode.size;
    const nodes = [...byNode.keys()].sort((a, b) => a - b);
    const answers = await parallel(
      nodes,
      (i) =>
        ctx.commands.batchEach(
          "ip",
          ctx.ns(i),
          byNode.get(i)!.map((l) => l.cmd),
        ),
      Math.max(1, nodes.length),
    );
    const failed = new Map<number, EmulationError>();
    nodes.forEach((i, n) => {
      for (const [j, message] of answers[n]!.entries()) {
        const l = byNode.get(i)![j]!;
        if (message === null || !l.adds || failed.has(l.change)) continue;
        const argv = ["ip", "-n", ctx.ns(i), ...l.cmd];
        failed.set(l.change, new EmulationError(`${argv.join(" ")}: ${message}`, argv, message));
      }
    });
    await this.undoFailed([...failed.keys()].map((k) => ({ k, ...routes[k]! })));
    ctx.save();
    batch.forEach((c, k) => {
      const e = failed.get(k);
      if (e) c.reject(this.typed(c, e));
      else c.resolve();
    });
  }

  /** Removes what the failed changes put in (ignoring what did not go in) and forgets their routes. */
  private async undoFailed(
    failed: { k: number; key: string; route: RouteState | undefined }[],
  ): Promise<void> {
    const { ctx } = this;
    const byNode = new Map<number, Cmd[]>();
    for (const { k, key, route } of failed) {
      if (!route) continue;
      if (ctx.state.routes[key] === route) delete ctx.state.routes[key];
      for (const [i, l] of this.removal(route, k)) {
        const cmds = byNode.get(i);
        if (cmds) cmds.push(l.cmd);
        else byNode.set(i, [l.cmd]);
      }
    }
    const nodes = [...byNode.keys()];
    await parallel(
      nodes,
      (i) => ctx.commands.batch("ip", ctx.ns(i), byNode.get(i)!, { check: false }),
      Math.max(1, nodes.length),
    );
  }

  /** A failed change's error: LinkDownError when its path now crosses a link that is down, else the command's. */
  private typed(c: Change, e: EmulationError): Error {
    if (!c.path) return e;
    const down = this.ctx.downLink(this.ctx.node(c.pair.src), this.ctx.node(c.pair.dst), c.path);
    return down ? new LinkDownError(`${down.message} (${e.message})`) : e;
  }
}
