/**
 * The config's `attacks` in an emulated experiment run (issue 16): the same connection attempts as the simulator's
 * (models/security/attacks.ts, drawn from `security/attack/<i>` of the run's streams, at the same simulated times,
 * wall time = simulated / timeCompression), made for real by processes without a mesh identity in the attack
 * node's namespace (emulate/sidecar/attacker.ts, uid nobody):
 *
 * - **unauthenticated**: a TLS 1.3 client without a certificate to the sidecar port ({@link SIDECAR_PORT}) of its
 *   targets, where a sidecar of the run's CA listens (one per target node, identity
 *   `spiffe://topocast/mesh/<node>`, an allow policy that admits nobody) and refuses it by authentication;
 * - **scan**: plain TCP connects to ports 1-1023 of its targets, where tripwires listen on every one of them.
 *
 * The sidecars' refusal log and the tripwires feed the same detector as the simulator's (emulate/sidecar/ids.ts
 * over models/security/ids.ts), on the run's clock (simulated ns), each event at the time the sidecar or tripwire
 * saw it (wall ms stamps; the controller reads them later, in bursts when it is busy); a block's time is when its
 * nftables rules were in place; a detection blocks the source workload through
 * the run's setFirewall (nftables at the source, the node's unauthenticated sockets only), so the traffic agents'
 * flows of the attack nodes keep flowing. {@link EmuAttacks.records} gives summary.json's `ids` as the simulator
 * does, with each block's time also in wall ms. The engine hands it a recorded control plane (emulate/engine.ts),
 * so the deny rules are in actions.csv, as the simulator's are.
 */

import {
  type AttackSpec,
  attackEvents,
  attackStreamName,
  SIDECAR_PORT,
} from "../../models/security/attacks.ts";
import type { ConnectionEvent } from "../../models/security/ids.ts";
import type { FirewallControl } from "../../models/security/prevention.ts";
import type { IdsRecords } from "../../sim/engine/attacks.ts";
import { RandomStreams } from "../../sim/kernel/rng.ts";
import type { Plan } from "../plan.ts";
import { type AttackProcess, type Attempt, runAttempts } from "./attacker.ts";
import { SidecarIds, sidecarsOf } from "./ids.ts";
import { type SidecarMesh, startMesh } from "./mesh.ts";

/** Ports the tripwires guard: 1-1023 (no application of a run listens there). */
export const TRIPWIRE_PORTS: readonly number[] = Array.from({ length: 1023 }, (_, i) => i + 1);

export interface EmuAttacksOptions {
  up: { runId: string; plan: Plan };
  attacks: readonly AttackSpec[];
  /** The scenario's seed and run (the attack streams'). */
  seed: number;
  run: number;
  /** Attempts at or after this simulated time are not made (the emulated window), ns. */
  windowNs: number;
  /** Simulated ns per wall ns (emulation.timeCompression). */
  timeCompression: number;
  /** The run's control plane (setFirewall), recorded for actions.csv. */
  firewall: FirewallControl;
  /** The run-state directory (the mesh's files). */
  dir?: string;
}

/** The attacks of one emulated run: {@link start} before the clock, {@link play} at the epoch, {@link stop}. */
export class EmuAttacks {
  private epoch: bigint | undefined;
  private epochUnixMs: number | undefined;
  private seen = 0;
  private readonly processes: AttackProcess[] = [];
  private outcomes: string[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly opts: EmuAttacksOptions,
    private readonly events: ConnectionEvent[][],
    private readonly mesh: SidecarMesh | undefined,
    readonly ids: SidecarIds,
  ) {}

  /** Draws the attempts, starts the target sidecars, the tripwires and the detector. */
  static async start(opts: EmuAttacksOptions): Promise<EmuAttacks> {
    const { plan } = opts.up;
    const nodes = plan.nodes.map((n) => n.id);
    const rs = new RandomStreams(opts.seed, opts.run);
    const events = opts.attacks.map((a, i) =>
      attackEvents(a, nodes, rs.stream(attackStreamName(i))).filter((e) => e.timeNs < opts.windowNs),
    );
    const targets = (kind: AttackSpec["kind"]) =>
      [
        ...new Set(events.flatMap((evs, i) => (opts.attacks[i]!.kind === kind ? evs.map((e) => e.dst) : []))),
      ].sort();
    const sidecarNodes = targets("unauthenticated");
    const mesh =
      sidecarNodes.length > 0
        ? await startMesh(
            opts.up,
            sidecarNodes.map((node) => ({ app: "mesh", instance: node, node, port: SIDECAR_PORT })),
            { policy: { allow: [] }, ...(opts.dir ? { dir: opts.dir } : {}) },
          )
        : undefined;
    let self: EmuAttacks | undefined;
    const ids = new SidecarIds(
      {
        plan,
        refusalsPath: mesh?.paths.refusals ?? "/nonexistent",
        sidecars: mesh ? sidecarsOf(mesh) : new Map(),
        tripwires: { nodes: targets("scan"), ports: TRIPWIRE_PORTS },
        clockNs: () => self?.nowNs() ?? 0,
        atWallMs: (unixMs) => self?.atWallMs(unixMs) ?? 0,
        onEvent: () => {
          if (self) self.seen++;
        },
      },
      opts.firewall,
    );
    self = new EmuAttacks(opts, events, mesh, ids);
    try {
      await ids.start();
    } catch (err) {
      await self.stop();
      throw err;
    }
    return self;
  }

  /** The run's clock: simulated ns since the epoch. */
  nowNs(): number {
    if (this.epoch === undefined) return 0;
    return Number(process.hrtime.bigint() - this.epoch) * this.opts.timeCompression;
  }

  /** The run's clock at a wall instant (Unix ms), simulated ns (0 before the epoch is known). */
  atWallMs(unixMs: number): number {
    if (this.epochUnixMs === undefined) return 0;
    return (unixMs - this.epochUnixMs) * 1e6 * this.opts.timeCompression;
  }

  /** Starts each attack's process, its attempts timed from `epoch` (the traffic's start, hrtime ns). */
  play(epoch: bigint): void {
    this.epoch = epoch;
    this.epochUnixMs = Date.now() + Number(epoch - process.hrtime.bigint()) / 1e6;
    const { plan } = this.opts.up;
    const address = (node: string) => plan.nodes.find((n) => n.id === node)!.address;

    this.events.forEach((evs, i) => {
      const tls = this.opts.attacks[i]!.kind === "unauthenticated";
      const attempts: Attempt[] = evs.map((e) => ({
        atUnixMs: this.epochUnixMs! + e.timeNs / this.opts.timeCompression / 1e6,
        host: address(e.dst),
        port: e.port,
        tls,
      }));
      this.processes.push(runAttempts(plan, this.opts.attacks[i]!.node, attempts));
    });
  }

  /** Waits for the attack processes (killed after `graceMs`), then stops the detector and the sidecars; once. */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= this.stopOnce(graceMs);
    return this.stopping;
  }

  private async stopOnce(graceMs: number): Promise<void> {
    const timer = setTimeout(() => {
      for (const p of this.processes) p.child.kill("SIGKILL");
    }, graceMs);
    const done = await Promise.all(this.processes.map((p) => p.done.catch(() => [])));
    clearTimeout(timer);
    this.outcomes = done.flat().map((o) => o.outcome);
    await this.ids.close();
    await this.mesh?.close();
  }

  /**
   * summary.json's `ids` (as sim/engine/attacks.ts): `benign` are the flows of the run refused on the wire or by a
   * rule (the traffic agents' flows: all benign), with their bytes when known.
   */
  records(benign: { flows: number; bytes: number | null }): IdsRecords {
    const sources = new Set(this.opts.attacks.map((a) => a.node));
    const blocks = this.ids.prevention.blocks.map((b) => {
      const timeToBlockNs = b.blockedNs - b.firstSeenNs;
      return {
        ...b,
        timeToBlockNs,
        timeToBlockWallMs: Math.round(timeToBlockNs / this.opts.timeCompression / 1e3) / 1e3,
        attacker: sources.has(b.src),
      };
    });
    const blockedSrc = new Set(blocks.map((b) => b.src));
    return {
      attacks: this.opts.attacks.map((a, i) => ({
        kind: a.kind,
        node: a.node,
        attempts: this.events[i]!.length,
      })),
      attemptsSeen: this.seen,
      attemptsBlocked: this.outcomes.filter((o) => o === "refused").length,
      blocks,
      missed: [...sources].filter((s) => !blockedSrc.has(s)).sort(),
      falsePositives: blocks.filter((b) => !b.attacker).map((b) => b.src),
      benignFlowsBlocked: benign.flows,
      benignBytesBlocked: benign.bytes,
    };
  }
}
