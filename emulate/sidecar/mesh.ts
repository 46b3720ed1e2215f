/**
 * Starts and stops a run's sidecar mesh on a running substrate (emulate/substrate.ts `up`): a run CA (ca.ts), one
 * certificate and one sidecar process (sidecar.ts) per application instance in its node's namespace, the trust
 * bundle and the allow policy (policy.ts) shared by all.
 *
 * Files: only under the run's mesh directory (run-files.ts), keys 0600; `mesh.json` records this process and
 * every sidecar's pid and start time before the next starts. Teardown ({@link SidecarMesh.close}) stops the
 * sidecars and removes the directory with its keys; a driver killed by SIGKILL leaves sidecars that exit when their
 * stdin closes, and a directory that `cleanupSidecars` (run-files.ts) removes by run id, or for every mesh whose
 * driver is dead. The substrate's own teardown also kills every process in the run's namespaces.
 *
 * Revocation ({@link SidecarMesh.revoke}): the CA lists the serial, the bundle files are rewritten and every
 * sidecar reloads them, closing the revoked peer's open connections. The CRL is reissued every half of its
 * validity while the mesh runs. Leaf certificates are not renewed: they live `LEAF_VALIDITY_MS` (ca.ts, 1 h) unless
 * `issue.notAfter` says otherwise, so a longer run sets it.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { EmulationError } from "../errors.ts";
import type { Plan } from "../plan.ts";
import { creator, processStart, runDir } from "../run-state.ts";
import { spawnIn } from "../substrate.ts";
import { CRL_VALIDITY_MS, type IssueOptions, type LeafCredentials, RunCa } from "./ca.ts";
import { parseSpiffeId, spiffeId } from "./identity.ts";
import type { NegotiateReply, NegotiateRequest } from "./negotiation.ts";
import { type AllowPolicy, checkPolicy } from "./policy.ts";
import {
  createMeshDir,
  type MeshPaths,
  type MeshState,
  removeMesh,
  writeBundle,
  writeCredentials,
  writeMeshState,
} from "./run-files.ts";
import { type Refusal, SIDECAR_SCRIPT, type SidecarConfig, type SidecarStats } from "./sidecar.ts";
import type { Endpoint } from "./tunnel.ts";

/** A route of an instance's application: a local port that tunnels to `target` at the sidecar `to`. */
export interface RouteSpec {
  /** Local port in the namespace (127.0.0.1). @default 0 (any free port; see {@link SidecarHandle.routes}) */
  listenPort?: number;
  /** SPIFFE ID of the destination sidecar (one of the mesh). */
  to: string;
  /** Application address at the destination, `host:port`. */
  target: string;
  /** SPIFFE ID of a relay sidecar (one of the mesh). */
  via?: string;
}

export interface SidecarSpec {
  app: string;
  instance: string;
  /** Plan node id. */
  node: string;
  /** TLS port on the node address. */
  port: number;
  /** Application addresses tunnels may reach at this sidecar. @default [] */
  deliver?: string[];
  routes?: RouteSpec[];
  /** Port of its gRPC negotiation server on the node address (negotiation.ts); none when absent. */
  controlPort?: number;
  /** This sidecar's own allow policy, instead of the mesh's (a secure virtual link's sidecars: secure-link.ts). */
  policy?: AllowPolicy;
}

export interface MeshOptions {
  policy: AllowPolicy;
  /** Run-state directory. @default runDir() */
  dir?: string;
  /** How long a control request may take, ms. @default 10000 */
  timeoutMs?: number;
  /** Leaf lifetimes (and tests' bad certificates). */
  issue?: IssueOptions;
}

/** A running sidecar. */
export interface SidecarHandle {
  spiffeId: string;
  node: string;
  netns: string;
  /** TLS endpoint. */
  endpoint: Endpoint;
  /** Local ports of its routes, in the spec's order. */
  routes: number[];
  serial: string;
  pid: number;
  /** Its gRPC negotiation endpoint, when it runs one. */
  control?: Endpoint;
}

/** What a sidecar reports once listening: its TLS port, its routes' local ports, its gRPC port. */
interface Ready {
  port: number;
  routes: number[];
  control?: number | undefined;
}

class SidecarProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private exited = false;
  readonly ready: Promise<Ready>;

  constructor(
    readonly child: ChildProcess,
    readonly id: string,
    private readonly timeoutMs: number,
  ) {
    let onReady: (v: Ready) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      child.once("exit", (code) =>
        reject(new EmulationError(`sidecar ${id} exited (code ${code}) before ready`)),
      );
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let m: { event?: string; id?: number; ok?: boolean; result?: unknown; error?: string } & Partial<Ready>;
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      if (m.event === "ready") onReady({ port: m.port!, routes: m.routes!, control: m.control });
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (p) {
        this.pending.delete(m.id!);
        p(m.ok === false ? new EmulationError(`sidecar ${id}: ${m.error}`) : m.result);
      }
    });
    child.once("exit", () => {
      this.exited = true;
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  request<T>(op: "stats" | "reload" | "negotiate", args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new EmulationError(`sidecar ${this.id} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EmulationError(`sidecar ${this.id}: ${op} took over ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, (v) => {
        clearTimeout(timer);
        if (v instanceof EmulationError) reject(v);
        else resolve(v as T);
      });
      this.child.stdin!.write(`${JSON.stringify({ ...args, id, op })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(t);
  }
}

/** A sidecar's TLS endpoint with where it runs. */
type PlacedEndpoint = Endpoint & { node: string; netns: string };

/** What the mesh needs to start a sidecar (startMesh's options, checked). */
interface LaunchOptions {
  policy: AllowPolicy;
  timeoutMs: number;
  issue?: IssueOptions | undefined;
}

/**
 * A running mesh; {@link add} and {@link remove} start and stop sidecars while it runs, {@link close} stops every
 * sidecar it started and removes its files.
 */
export class SidecarMesh {
  private readonly refresh: NodeJS.Timeout;
  private readonly handles = new Map<string, SidecarHandle>();
  private readonly procs = new Map<string, SidecarProcess>();
  readonly runId: string;

  constructor(
    private readonly up: { runId: string; plan: Plan },
    readonly ca: RunCa,
    readonly paths: MeshPaths,
    private readonly state: MeshState,
    private readonly dir: string,
    private readonly launchOptions: LaunchOptions,
  ) {
    this.runId = up.runId;
    this.refresh = setInterval(() => void this.pushBundle(), CRL_VALIDITY_MS / 2);
    this.refresh.unref();
  }

  /** The sidecar of an identity; throws naming the known ones. */
  sidecar(id: string): SidecarHandle {
    const h = this.handles.get(id);
    if (!h)
      throw new EmulationError(
        `sidecar mesh: no sidecar ${id}; sidecars: ${[...this.handles.keys()].join(", ")}`,
      );
    return h;
  }

  get sidecars(): SidecarHandle[] {
    return [...this.handles.values()];
  }

  stats(id: string): Promise<SidecarStats> {
    this.sidecar(id);
    return this.procs.get(id)!.request<SidecarStats>("stats");
  }

  /**
   * Path negotiation: sidecar `from` asks sidecar `to` over gRPC (mutual TLS) whether it accepts a tunnel to
   * `request.target`; `to` answers from its policy (negotiation.ts). Throws when `to` runs no negotiation server.
   */
  negotiate(from: string, to: string, request: NegotiateRequest): Promise<NegotiateReply> {
    this.sidecar(from);
    const control = this.sidecar(to).control;
    if (!control) throw new EmulationError(`sidecar mesh: ${to} runs no negotiation server (no controlPort)`);
    return this.procs.get(from)!.request<NegotiateReply>("negotiate", { to: control, request });
  }

  /** Every refusal logged so far by the mesh's sidecars. */
  refusals(): Refusal[] {
    try {
      return readFileSync(this.paths.refusals, "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Refusal);
    } catch {
      return [];
    }
  }

  private async pushBundle(): Promise<number> {
    writeBundle(this.paths, await this.ca.bundle());
    const live = [...this.procs.values()].filter((p) => p.alive);
    const r = await Promise.all(live.map((p) => p.request<{ closed: number }>("reload")));
    return r.reduce((a, b) => a + b.closed, 0);
  }

  /** Revokes an identity's certificate (or any serial); resolves with the connections closed by it. */
  revoke(idOrSerial: string): Promise<number> {
    this.ca.revoke(this.handles.get(idOrSerial)?.serial ?? idOrSerial);
    return this.pushBundle();
  }

  /**
   * Starts one more sidecar (its port 0: any free port); its routes and relays may name sidecars already running.
   * Resolves once it listens. @throws EmulationError for an unknown node, a duplicate identity or a route to a
   * sidecar not running.
   */
  async add(spec: SidecarSpec): Promise<SidecarHandle> {
    const own = endpoints(this.up.plan, [spec]);
    const ends = new Map<string, PlacedEndpoint>(
      this.sidecars.map((h) => [h.spiffeId, { ...h.endpoint, node: h.node, netns: h.netns }]),
    );
    const id = [...own.keys()][0]!;
    if (ends.has(id)) throw new EmulationError(`sidecar mesh: ${id} is already running`);
    ends.set(id, own.get(id)!);
    return this.launch(spec, ends);
  }

  /** Starts the sidecar of `spec` (endpoints of every sidecar it may name in `ends`); records it before waiting. */
  async launch(spec: SidecarSpec, ends: ReadonlyMap<string, PlacedEndpoint>): Promise<SidecarHandle> {
    const { plan, runId } = this.up;
    const leaf: LeafCredentials = await this.ca.issue(spec.app, spec.instance, this.launchOptions.issue);
    const policy = spec.policy
      ? checkPolicy(spec.policy, `sidecar ${leaf.spiffeId} policy`)
      : this.launchOptions.policy;
    const cfg = sidecarConfig(runId, spec, ends, {
      ...writeCredentials(this.paths, leaf),
      paths: this.paths,
      policy,
    });
    const e = ends.get(cfg.spiffeId)!;
    const child = spawnIn(
      plan,
      e.node,
      [process.execPath, "--import", "tsx", SIDECAR_SCRIPT, JSON.stringify(cfg)],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    const proc = new SidecarProcess(child, cfg.spiffeId, this.launchOptions.timeoutMs);
    this.procs.set(cfg.spiffeId, proc);
    this.state.sidecars.push({
      spiffeId: cfg.spiffeId,
      netns: e.netns,
      pid: child.pid!,
      pidStart: processStart(child.pid!),
    });
    writeMeshState(this.state, this.dir);
    const ready = await proc.ready;
    const handle: SidecarHandle = {
      spiffeId: cfg.spiffeId,
      node: e.node,
      netns: e.netns,
      endpoint: { host: e.host, port: ready.port, spiffeId: cfg.spiffeId },
      routes: ready.routes,
      serial: leaf.serial,
      pid: child.pid!,
      ...(ready.control ? { control: { host: e.host, port: ready.control, spiffeId: cfg.spiffeId } } : {}),
    };
    this.handles.set(cfg.spiffeId, handle);
    return handle;
  }

  /** Stops one sidecar and removes its key and certificate files. Idempotent. */
  async remove(id: string): Promise<void> {
    await this.procs.get(id)?.stop();
    this.procs.delete(id);
    this.handles.delete(id);
    const parsed = parseSpiffeId(id);
    if (parsed)
      for (const ext of ["key", "crt"])
        rmSync(join(this.paths.keys, `${parsed.app}.${parsed.instance}.${ext}`), { force: true });
    this.state.sidecars = this.state.sidecars.filter((s) => s.spiffeId !== id);
    writeMeshState(this.state, this.dir);
  }

  /** Stops every sidecar and removes the mesh directory (keys included). Idempotent. */
  async close(): Promise<void> {
    clearInterval(this.refresh);
    await Promise.all([...this.procs.values()].map((p) => p.stop()));
    removeMesh(this.runId, this.dir);
  }
}

/** Where each sidecar will listen, by identity, checked against the plan. */
function endpoints(plan: Plan, specs: readonly SidecarSpec[]): Map<string, PlacedEndpoint> {
  const out = new Map<string, PlacedEndpoint>();
  for (const [i, s] of specs.entries()) {
    const id = spiffeId(s.app, s.instance);
    const n = plan.nodes.find((x) => x.id === s.node);
    if (!n)
      throw new EmulationError(
        `sidecar mesh: sidecars[${i}].node: "${s.node}" is not in run ${plan.runId}; nodes: ${plan.nodes.map((x) => x.id).join(", ")}`,
      );
    if (out.has(id)) throw new EmulationError(`sidecar mesh: sidecars[${i}]: ${id} appears twice`);
    out.set(id, { host: n.address, port: s.port, spiffeId: id, node: n.id, netns: n.netns });
  }
  return out;
}

function sidecarConfig(
  runId: string,
  spec: SidecarSpec,
  ends: ReadonlyMap<string, Endpoint>,
  files: { keyPath: string; certPath: string; paths: MeshPaths; policy: AllowPolicy },
): SidecarConfig {
  const id = spiffeId(spec.app, spec.instance);
  const ep = (what: string, sid: string) => {
    const e = ends.get(sid);
    if (!e) throw new EmulationError(`sidecar mesh: ${id}: ${what} ${sid} is not a sidecar of the mesh`);
    return { host: e.host, port: e.port, spiffeId: e.spiffeId };
  };
  return {
    runId,
    spiffeId: id,
    keyPath: files.keyPath,
    certPath: files.certPath,
    caPath: files.paths.caPath,
    crlPath: files.paths.crlPath,
    refusalsPath: files.paths.refusals,
    listen: { host: ends.get(id)!.host, port: spec.port },
    policy: files.policy,
    deliver: spec.deliver ?? [],
    peers: [...ends.values()].map((e) => `${e.host}:${e.port}`),
    ...(spec.controlPort === undefined
      ? {}
      : { control: { host: ends.get(id)!.host, port: spec.controlPort } }),
    routes: (spec.routes ?? []).map((r) => ({
      listen: { host: "127.0.0.1", port: r.listenPort ?? 0 },
      to: ep("route destination", r.to),
      target: r.target,
      ...(r.via ? { via: ep("relay", r.via) } : {}),
    })),
  };
}

/** Creates a run's mesh directory and CA, with no sidecar yet ({@link SidecarMesh.add} starts them). */
export async function createMesh(up: { runId: string; plan: Plan }, opts: MeshOptions): Promise<SidecarMesh> {
  const dir = opts.dir ?? runDir();
  const policy = checkPolicy(opts.policy);
  const state: MeshState = { ...creator(up.runId), sidecars: [] };
  const paths = createMeshDir(state, dir);
  try {
    const ca = await RunCa.create(up.runId);
    writeBundle(paths, await ca.bundle());
    return new SidecarMesh(up, ca, paths, state, dir, {
      policy,
      timeoutMs: opts.timeoutMs ?? 10_000,
      issue: opts.issue,
    });
  } catch (err) {
    removeMesh(up.runId, dir);
    throw err;
  }
}

/**
 * Starts a mesh on a running substrate: the CA, the mesh directory, then each sidecar in spec order (each waits
 * until listening). On a failure it stops what it started, removes the directory and throws.
 */
export async function startMesh(
  up: { runId: string; plan: Plan },
  specs: readonly SidecarSpec[],
  opts: MeshOptions,
): Promise<SidecarMesh> {
  const ends = endpoints(up.plan, specs);
  const mesh = await createMesh(up, opts);
  try {
    for (const spec of specs) await mesh.launch(spec, ends);
  } catch (err) {
    await mesh.close();
    throw err;
  }
  return mesh;
}
