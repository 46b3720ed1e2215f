/**
 * The traffic of an emulation run: one agent per node (emulate/agent.ts) in the node's namespace, serving and
 * replaying the scheduled flows its node sends as real TCP connections, all started on one common epoch. Live
 * agents also take flows and responses during the run ({@link TrafficAgents.send}, {@link TrafficAgents.respond}:
 * a closed-loop workload's, emulate/live-applications.ts).
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FlowArrival } from "../models/workload/flow-schedule.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { type AgentFlow, type AgentOp, type AgentReport, type AgentResponse, startAgent } from "./agent.ts";
import { EmulationError } from "./errors.ts";
import type { Plan } from "./plan.ts";
import type { EmulationRunSettings } from "./run-settings.ts";
import { emulatedBytes } from "./scaling.ts";

/** Thrown when the run is aborted (SIGINT) before traffic started: there is nothing to report for the policy. */
export class EmulationInterrupted extends EmulationError {
  constructor() {
    super("interrupted before traffic started");
  }
}

export class TrafficAgents {
  /** Agents that exited or failed (an agent serves until it is stopped, so any exit is a failure). */
  readonly exited: string[] = [];
  private readonly listening = new Set<number>();
  private readonly agents: ChildProcess[];
  private readonly live: boolean;

  /**
   * Starts the agents: each gets its node's flows (emulated sizes) in a file under `workDir` and keeps retrying
   * connections for `retryForNs` (simulated). Reports other than "listening" go to `onReport`.
   */
  constructor(
    plan: Plan,
    flows: readonly FlowArrival[],
    settings: EmulationRunSettings,
    workDir: string,
    retryForNs: number,
    onReport: (rep: AgentReport) => void,
    /** The port of each flow's application (emulate/application-ports.ts); default: every flow to `settings.port`. */
    ports: Readonly<Record<string, number>> = {},
    /**
     * Per node (plan order): the ports its agent listens on beside `settings.port` (application-ports.ts
     * `listenPorts`), and whether agents take flows during the run. Default: every port of `ports` on every node,
     * not live.
     */
    opts: {
      listen?: readonly { tcp: readonly number[]; udp: readonly number[] }[];
      live?: boolean;
      /** The topology, whose round trips set the agents' redial time ({@link redialWallMs}). @default 50 ms */
      topology?: Topology;
    } = {},
  ) {
    const bySource: AgentFlow[][] = plan.nodes.map(() => []);
    const everyPort = [...new Set(Object.values(ports))]
      .filter((p) => p !== settings.port)
      .sort((a, b) => a - b);
    this.live = opts.live ?? false;
    const redialMs = opts.topology && redialWallMs(opts.topology, settings.timeCompression);
    for (const f of flows) {
      bySource[f.src]!.push({
        id: f.id,
        dst: plan.nodes[f.dst]!.address,
        port: ports[f.application] ?? settings.port,
        bytes: emulatedBytes(f.sizeBytes, settings),
        startNs: f.startNs,
      });
    }
    this.agents = plan.nodes.map((nd, i) => {
      const file = join(workDir, `flows-${i}.json`);
      writeFileSync(file, JSON.stringify(bySource[i]));
      return startAgent(
        plan,
        nd.id,
        {
          listen: {
            host: nd.address,
            port: settings.port,
            extraPorts: opts.listen?.[i]?.tcp ?? everyPort,
            udpPorts: opts.listen?.[i]?.udp ?? [],
          },
          flowsFile: file,
          timeCompression: settings.timeCompression,
          waitForEpoch: true,
          live: this.live,
          retryForMs: Math.round(retryForNs / settings.timeCompression / 1e6),
          ...(redialMs !== undefined ? { redialMs } : {}),
        },
        (rep) => {
          if (rep.event === "listening") this.listening.add(i);
          else onReport(rep);
        },
      );
    });
    this.agents.forEach((a, i) => {
      a.on("exit", (code, sig) => {
        if (code !== 0 || sig) this.exited.push(`${plan.nodes[i]!.id}: exit ${code ?? sig}`);
      });
      a.on("error", (e) => this.exited.push(`${plan.nodes[i]!.id}: ${e.message}`));
      a.stdin?.on("error", () => {}); // EPIPE from an agent that died: reported through "exit"
    });
  }

  /**
   * Resolves once every agent listens.
   * @throws EmulationInterrupted when `signal` aborts first; EmulationError when an agent fails or 60 s pass.
   */
  whenListening(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 60_000;
      const check = setInterval(() => {
        const done = (e?: Error) => {
          clearInterval(check);
          if (e) reject(e);
          else resolve();
        };
        if (signal?.aborted) done(new EmulationInterrupted());
        else if (this.exited.length > 0)
          done(new EmulationError(`traffic agent failed to start (${this.exited.join("; ")})`));
        else if (this.listening.size === this.agents.length) done();
        else if (Date.now() > deadline)
          done(
            new EmulationError(
              `traffic agents not listening after 60 s (${this.listening.size} of ${this.agents.length})`,
            ),
          );
      }, 20);
    });
  }

  /** Starts every agent's schedule half a second from now, all at once; returns that epoch (hrtime ns). */
  startClock(): bigint {
    const epoch = process.hrtime.bigint() + 500_000_000n;
    const line = `${JSON.stringify({ epochNs: epoch.toString() })}\n`;
    for (const a of this.agents) {
      if (this.live) a.stdin?.write(line);
      else a.stdin?.end(line);
    }
    return epoch;
  }

  /** Live agents: node `src` (plan index) sends `flow` at its scheduled start (at once when that has passed). */
  send(src: number, flow: AgentFlow): void {
    this.op(src, { op: "send", flow });
  }

  /** Live agents: node `src` sends response `r` back over its request's connection (emulate/agent.ts). */
  respond(src: number, r: AgentResponse): void {
    this.op(src, { op: "respond", ...r });
  }

  private op(src: number, op: AgentOp): void {
    if (!this.live)
      throw new EmulationError("traffic agents: not started live, they take no flows during the run");
    this.agents[src]!.stdin?.write(`${JSON.stringify(op)}\n`);
  }

  /** @throws EmulationError when an agent exited mid-run. */
  checkAlive(): void {
    if (this.exited.length > 0)
      throw new EmulationError(`traffic agent failed mid-run (${this.exited.join("; ")})`);
  }

  stop(): void {
    for (const a of this.agents) {
      a.stdin?.end();
      a.kill("SIGTERM");
    }
  }
}

/** Wall ms below which {@link redialWallMs} never goes. */
const MIN_REDIAL_MS = 50;

/**
 * How long an agent waits for a connection to be set up before it dials again beside it (AgentConfig.redialMs),
 * in wall ms: three times the largest round trip between two nodes over least-delay paths (propagation only,
 * simulated ns / timeCompression), and at least 50 ms. A handshake on a working path ends within one such round
 * trip plus queueing, so only a SYN sent into a dead path (or one queued for more than two round trips) gets a
 * second; with time dilated or long links a fixed 50 ms would redial every connection.
 */
export function redialWallMs(topo: Topology, timeCompression: number): number {
  const table = allPairsShortestPaths(topo);
  let maxOneWayNs = 0;
  for (let s = 0; s < topo.nodeCount; s++)
    for (let d = 0; d < topo.nodeCount; d++) {
      const c = table.cost(s, d);
      if (Number.isFinite(c) && c > maxOneWayNs) maxOneWayNs = c;
    }
  return Math.max(MIN_REDIAL_MS, Math.ceil((3 * 2 * maxOneWayNs) / timeCompression / 1e6));
}
