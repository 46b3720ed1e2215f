/**
 * Applications: app instances placed on nodes and an RPC call graph between apps, so that "who talks to whom,
 * when and how much" exists at application level and turns into flows into a {@link FlowSink}.
 *
 * Model (the request/response microservice model of e.g. DeathStarBench, Gan et al., ASPLOS 2019, kept minimal):
 * - An app has instances on topology nodes (at most one per node) and an optional service time.
 * - The call graph is a DAG of edges `from -> to`, each with a request and a response size (bytes: a constant or a
 *   distribution), a fan-out `count` (calls per invocation) and a `probability` that each call is made (e.g. a
 *   cache miss ratio).
 * - Entries: external requests arrive at an entry app as a Poisson process of `ratePerSec` (optionally scaled by a
 *   piecewise-constant `rateScale`, e.g. a diurnal profile, by the exact method of piecewise-poisson.ts). With
 *   `clients`, each request comes from a client node (uniform), travels as a request flow to an entry instance and
 *   returns as a response flow; without clients it starts at the entry instance with no network transfer.
 * - An invocation of app A at instance node a: after A's service time, A issues all its calls at once (parallel
 *   fan-out). Each call picks a callee instance b uniformly, sends the request flow a -> b; when its last byte
 *   arrives, B is invoked at b; when B's invocation completes, B sends the response flow b -> a; when its last
 *   byte arrives, the call has returned. A's invocation completes when all its calls have returned (at once if it
 *   makes none). Caller and callee on the same node exchange data instantly, without a flow.
 * - A flow's completion is taken from the sink's `flowEnd` event (its `endNs`: when the last byte arrives). A flow
 *   the data plane refuses (a firewall rule) never completes, so the request it belongs to never finishes.
 *
 * Application pairs and tags. Every ordered pair of apps that exchanges data is an application pair, named
 * `"A->B"` (requests of edge A -> B) and `"B->A"` (its responses); external clients are the pseudo-app
 * `"client"`. Pairs are sorted by name; a flow's tag is `tagBase + pair index`, so the profiler can group
 * traffic per application pair ({@link tagClassifier} with `appPairs.length` and `tagBase`); a flow's spec also
 * names its application pair (`application`), which engines count per application in the Observation. Flows from
 * a traffic matrix are tagged `src x N + dst` by default, so when both run on one network use `tagBase >= N x N`.
 *
 * Identity: an app may name its `version`, the server `port` its instances listen on, its `protocol` (tcp or udp)
 * and its `dependencies` (apps it needs: its critical peers). Every flow of an exchange with app B (requests to B
 * and B's responses) carries B's port and protocol in its spec, as a connection to B's server would; these fields
 * draw no random numbers, so flows are those of the same spec without them. Personas (models/personas) learn from
 * them.
 *
 * Randomness: entry arrivals, client and entry-instance choice and entry sizes from `<prefix>/entry/<app>`; callee
 * choice, call probability and sizes of edge A -> B from `<prefix>/call/A->B` (prefix "apps").
 */
import type { Distribution, RandomStream, RandomStreams } from "../../sim/kernel/rng.ts";
import type { Simulator } from "../../sim/kernel/simulator.ts";
import type { Path } from "../../sim/substrate/routing.ts";
import { quote, WorkloadError } from "./errors.ts";
import type { FlowEndEvent, FlowEventSource, FlowExchange, FlowProtocol, FlowSink } from "./flow-sink.ts";
import { suggest } from "./node-mapping.ts";
import { piecewiseArrivalOffset } from "./piecewise-poisson.ts";
import { compareIds } from "./tm-series-build.ts";

/**
 * The first application-pair tag when applications run beside a traffic matrix on a network of `nodeCount` nodes:
 * N x N, above every node-pair tag `src x N + dst` the matrix's flows carry. The simulator tags applications so
 * (sim/engine/run.ts); whatever reads tags back (profiles, personas, summaries) uses this too.
 */
export function applicationTagBase(nodeCount: number): number {
  return nodeCount * nodeCount;
}

/** Bytes: a constant or a distribution sampled per message. */
export type Size = number | Distribution;

export interface AppSpec {
  /** Unique name, e.g. `"frontend"` (not `"client"`). */
  name: string;
  /** Topology node ids, one instance each. */
  instances: readonly string[];
  /** Time between receiving a request and issuing its calls, integer ns. @default 0 */
  serviceNs?: number;
  /** The application's version (a release tag or hash), for its persona. @default none */
  version?: string;
  /** Server port its instances listen on (1..65535): flows to and from it carry this port. @default none */
  port?: number;
  /** Transport protocol of its exchanges. @default "tcp" */
  protocol?: AppProtocol;
  /** Apps it depends on (a database, an external API): its critical peers. Each must be an app of the spec. */
  dependencies?: readonly string[];
}

/** Transport protocols of application exchanges. */
export type AppProtocol = FlowProtocol;

export interface CallSpec {
  from: string;
  to: string;
  requestBytes: Size;
  responseBytes: Size;
  /** Calls per invocation of `from`. @default 1 */
  count?: number;
  /** Probability that each call is made. @default 1 */
  probability?: number;
}

export interface EntrySpec {
  /** App that receives external requests. */
  app: string;
  /** Mean requests per second (> 0). */
  ratePerSec: number;
  /** Piecewise-constant multiplier of the rate: factor k applies in [k x intervalNs, (k + 1) x intervalNs). */
  rateScale?: { intervalNs: number; factors: readonly number[]; repeat?: boolean };
  /** Client node ids; with clients, requests and responses travel between a client and the entry instance. */
  clients?: readonly string[];
  /** Client request size (required with clients). */
  requestBytes?: Size;
  /** Response size to the client (required with clients). */
  responseBytes?: Size;
}

export interface AppWorkloadSpec {
  apps: readonly AppSpec[];
  calls: readonly CallSpec[];
  entries: readonly EntrySpec[];
}

export interface AppWorkloadOptions {
  streams: RandomStreams;
  route: (src: number, dst: number) => Path;
  /** Tag of application pair 0. @default 0 */
  tagBase?: number;
  /** No new external requests at or after this time, ns. @default unbounded */
  untilNs?: number;
  /** Stop after this many external requests. @default unbounded */
  maxRequests?: number;
  /** @default "apps" */
  streamPrefix?: string;
}

/** Name of the pseudo-app of external clients. */
export const CLIENT_APP = "client";

interface App {
  name: string;
  nodes: number[];
  serviceNs: number;
  calls: Edge[];
  /** What flows to and from this app's instances carry (the server side of the exchange). */
  server: FlowIdentity;
}

/** The identity fields a flow carries: the server's port and the protocol. */
interface FlowIdentity {
  port?: number;
  protocol: AppProtocol;
}

interface Edge {
  callee: App;
  request: Size;
  response: Size;
  count: number;
  probability: number;
  rng: RandomStream;
  requestTag: number;
  responseTag: number;
}

interface Entry {
  app: App;
  ratePerSec: number;
  scale: EntrySpec["rateScale"];
  clients: number[];
  request: Size;
  response: Size;
  rng: RandomStream;
  requestTag: number;
  responseTag: number;
  originNs: number;
}

/** A pending invocation: calls left and what to do when they have all returned. */
interface Invocation {
  left: number;
  done: () => void;
}

/** A finished external request. */
export interface RequestRecord {
  entry: string;
  startNs: number;
  endNs: number;
}

/** Generates application traffic into a flow sink. Call {@link start} once. */
export class AppWorkload {
  /** Application pair names, sorted; a flow's tag is `tagBase + index`. */
  readonly appPairs: readonly string[];
  readonly tagBase: number;
  private readonly apps = new Map<string, App>();
  private readonly entries: Entry[] = [];
  private readonly waiting = new Map<number, (endNs: number) => void>();
  private readonly untilNs: number;
  private readonly maxRequests: number;
  private requests = 0;
  private readonly finished: RequestRecord[] = [];
  private flowCount = 0;

  /**
   * @param events the flow events of `network` (the workload learns of completed transfers from `flowEnd`).
   * @throws WorkloadError naming the app, edge or entry at fault: duplicate or reserved app names, an instance on
   *   an unknown node (with close matches), an edge or entry naming an unknown app, a cycle in the call graph, a
   *   bad count, probability, rate, size or service time, or clients without request/response sizes.
   */
  constructor(
    private readonly sim: Simulator,
    private readonly network: FlowSink,
    events: FlowEventSource,
    spec: AppWorkloadSpec,
    private readonly opts: AppWorkloadOptions,
  ) {
    const topo = network.topology;
    const prefix = opts.streamPrefix ?? "apps";
    this.tagBase = opts.tagBase ?? 0;
    this.untilNs = opts.untilNs ?? Number.POSITIVE_INFINITY;
    this.maxRequests = opts.maxRequests ?? Number.POSITIVE_INFINITY;
    const nodeOf = (id: string, where: string): number => {
      if (!topo.hasNode(id)) {
        throw new WorkloadError(
          `${where}: ${quote(id)} is not a node of topology ${quote(topo.name)}${suggest(
            id,
            topo.nodes.map((n) => n.id),
          )}`,
        );
      }
      return topo.node(id);
    };
    for (const [i, a] of spec.apps.entries()) {
      const where = `apps[${i}] (${quote(a.name)})`;
      if (typeof a.name !== "string" || a.name === "" || a.name === CLIENT_APP || a.name.includes("->")) {
        throw new WorkloadError(`${where}: name must be non-empty, not "client" and without "->"`);
      }
      if (this.apps.has(a.name)) throw new WorkloadError(`${where}: duplicate app name`);
      if (a.instances.length === 0) throw new WorkloadError(`${where}: needs at least one instance`);
      const nodes = a.instances.map((id, k) => nodeOf(id, `${where}.instances[${k}]`));
      if (new Set(nodes).size !== nodes.length)
        throw new WorkloadError(`${where}: two instances on one node`);
      const serviceNs = a.serviceNs ?? 0;
      if (!Number.isSafeInteger(serviceNs) || serviceNs < 0) {
        throw new WorkloadError(
          `${where}.serviceNs: expected an integer >= 0 of ns, got ${quote(a.serviceNs)}`,
        );
      }
      this.apps.set(a.name, { name: a.name, nodes, serviceNs, calls: [], server: identityOf(a, where) });
    }
    const appOf = (name: string, where: string): App => {
      const app = this.apps.get(name);
      if (!app) {
        throw new WorkloadError(
          `${where}: unknown app ${quote(name)}${suggest(name, [...this.apps.keys()])}`,
        );
      }
      return app;
    };

    this.appPairs = applicationPairs(spec);
    const tagOf = (pair: string) => this.tagBase + this.appPairs.indexOf(pair);

    for (const [i, c] of spec.calls.entries()) {
      const where = `calls[${i}] (${c.from}->${c.to})`;
      const caller = appOf(c.from, `${where}.from`);
      const callee = appOf(c.to, `${where}.to`);
      const count = c.count ?? 1;
      const probability = c.probability ?? 1;
      if (!Number.isInteger(count) || count < 1) {
        throw new WorkloadError(`${where}.count: expected an integer >= 1, got ${quote(c.count)}`);
      }
      if (!(probability > 0 && probability <= 1)) {
        throw new WorkloadError(
          `${where}.probability: expected a number in (0, 1], got ${quote(c.probability)}`,
        );
      }
      checkSize(c.requestBytes, `${where}.requestBytes`);
      checkSize(c.responseBytes, `${where}.responseBytes`);
      caller.calls.push({
        callee,
        request: c.requestBytes,
        response: c.responseBytes,
        count,
        probability,
        rng: opts.streams.stream(`${prefix}/call/${c.from}->${c.to}`),
        requestTag: tagOf(`${c.from}->${c.to}`),
        responseTag: tagOf(`${c.to}->${c.from}`),
      });
    }
    expectedTransfers(spec);
    for (const [i, a] of spec.apps.entries()) {
      (a.dependencies ?? []).forEach((dep, k) => {
        appOf(dep, `apps[${i}] (${quote(a.name)}).dependencies[${k}]`);
      });
    }

    for (const [i, e] of spec.entries.entries()) {
      const where = `entries[${i}] (${quote(e.app)})`;
      const app = appOf(e.app, `${where}.app`);
      if (!(e.ratePerSec > 0) || !Number.isFinite(e.ratePerSec)) {
        throw new WorkloadError(
          `${where}.ratePerSec: expected a rate > 0 per second, got ${quote(e.ratePerSec)}`,
        );
      }
      if (e.rateScale) {
        const { intervalNs, factors } = e.rateScale;
        if (!Number.isSafeInteger(intervalNs) || intervalNs <= 0) {
          throw new WorkloadError(
            `${where}.rateScale.intervalNs: expected an integer > 0, got ${quote(intervalNs)}`,
          );
        }
        factors.forEach((f, k) => {
          if (!(f >= 0) || !Number.isFinite(f)) {
            throw new WorkloadError(
              `${where}.rateScale.factors[${k}]: expected a number >= 0, got ${quote(f)}`,
            );
          }
        });
        if (!factors.some((f) => f > 0)) throw new WorkloadError(`${where}.rateScale: all factors are 0`);
      }
      const clients = (e.clients ?? []).map((id, k) => nodeOf(id, `${where}.clients[${k}]`));
      if (clients.length > 0) {
        if (e.requestBytes === undefined || e.responseBytes === undefined) {
          throw new WorkloadError(`${where}: clients need requestBytes and responseBytes`);
        }
        checkSize(e.requestBytes, `${where}.requestBytes`);
        checkSize(e.responseBytes, `${where}.responseBytes`);
      }
      this.entries.push({
        app,
        ratePerSec: e.ratePerSec,
        scale: e.rateScale,
        clients,
        request: e.requestBytes ?? 0,
        response: e.responseBytes ?? 0,
        rng: opts.streams.stream(`${prefix}/entry/${e.app}`),
        requestTag: clients.length > 0 ? tagOf(`${CLIENT_APP}->${e.app}`) : -1,
        responseTag: clients.length > 0 ? tagOf(`${e.app}->${CLIENT_APP}`) : -1,
        originNs: 0,
      });
    }
    events.on("flowEnd", this.onFlowEnd);
  }

  /** External requests started so far. */
  get requestsStarted(): number {
    return this.requests;
  }

  /** Flows started so far. */
  get flowsStarted(): number {
    return this.flowCount;
  }

  /** Finished external requests, in completion order. */
  get completed(): readonly RequestRecord[] {
    return this.finished;
  }

  /** Schedules the first external request of every entry (rate scales start now). */
  start(): void {
    for (const e of this.entries) {
      e.originNs = this.sim.now;
      this.scheduleRequest(e);
    }
  }

  private scheduleRequest(e: Entry): void {
    const meanGapNs = 1e9 / e.ratePerSec;
    const draw = e.rng.exponential(1);
    const s = e.scale;
    const offset = s
      ? piecewiseArrivalOffset(
          draw,
          this.sim.now - e.originNs,
          s.intervalNs,
          s.factors.length,
          !!s.repeat,
          (k) => (s.factors[k]! > 0 ? meanGapNs / s.factors[k]! : Number.POSITIVE_INFINITY),
        )
      : draw * meanGapNs;
    if (offset === Number.POSITIVE_INFINITY) return;
    const gap = Math.round(offset);
    if (this.sim.now + gap >= this.untilNs) return;
    this.sim.schedule(gap, this.arrive, 0, e);
  }

  private readonly arrive = (e: Entry): void => {
    if (this.requests >= this.maxRequests) return;
    this.requests++;
    const startNs = this.sim.now;
    const server = pick(e.app.nodes, e.rng);
    const finish = () => this.finished.push({ entry: e.app.name, startNs, endNs: this.sim.now });
    if (e.clients.length === 0) {
      this.invoke(e.app, server, finish);
    } else {
      const client = pick(e.clients, e.rng);
      const req = sizeOf(e.request, e.rng);
      const resp = sizeOf(e.response, e.rng);
      const id = e.app.server;
      this.transfer(client, server, req, e.requestTag, id, "request", (reqFlow) =>
        this.invoke(e.app, server, () =>
          this.transfer(server, client, resp, e.responseTag, id, { responseTo: reqFlow }, finish),
        ),
      );
    }
    this.scheduleRequest(e);
  };

  /** Runs one invocation of `app` at node `at`; calls `done` when all its calls have returned. */
  private invoke(app: App, at: number, done: () => void): void {
    const issue = () => {
      const inv: Invocation = { left: 1, done }; // 1 = the issuing itself, released below
      for (const edge of app.calls) {
        for (let c = 0; c < edge.count; c++) {
          if (edge.probability < 1 && edge.rng.uniform() >= edge.probability) continue;
          const callee = pick(edge.callee.nodes, edge.rng);
          const req = sizeOf(edge.request, edge.rng);
          const resp = sizeOf(edge.response, edge.rng);
          inv.left++;
          const id = edge.callee.server;
          this.transfer(at, callee, req, edge.requestTag, id, "request", (reqFlow) =>
            this.invoke(edge.callee, callee, () =>
              this.transfer(callee, at, resp, edge.responseTag, id, { responseTo: reqFlow }, () =>
                release(inv),
              ),
            ),
          );
        }
      }
      release(inv);
    };
    if (app.serviceNs > 0) this.sim.schedule(app.serviceNs, issue);
    else issue();
  }

  /**
   * Moves `bytes` from node a to node b (a flow, or nothing when a = b), then calls `then` at the last byte with
   * the flow's id (-1 without a flow). The flow carries its application pair, the server's port and protocol
   * (`server`) and its part in the exchange (a request, or the response to a request flow; a response to no flow
   * is sent as a one-way flow).
   */
  private transfer(
    a: number,
    b: number,
    bytes: number,
    tag: number,
    server: FlowIdentity,
    exchange: FlowExchange,
    then: (flow: number) => void,
  ): void {
    if (a === b) {
      then(-1);
      return;
    }
    const id = this.network.startFlow({
      src: a,
      dst: b,
      sizeBytes: bytes,
      path: this.opts.route(a, b),
      tag,
      application: this.appPairs[tag - this.tagBase]!,
      ...server,
      ...(exchange === "request" || exchange.responseTo >= 0 ? { exchange } : {}),
    });
    this.flowCount++;
    if (id >= 0) this.waiting.set(id, () => then(id));
  }

  private readonly onFlowEnd = (r: FlowEndEvent): void => {
    const k = this.waiting.get(r.flow);
    if (k === undefined) return;
    this.waiting.delete(r.flow);
    const at = Math.max(this.sim.now, Math.ceil(r.endNs));
    if (at === this.sim.now) k(at);
    else this.sim.scheduleAt(at, k, 0, at);
  };
}

/** An app's server port and protocol, checked. */
function identityOf(a: AppSpec, where: string): FlowIdentity {
  if (a.port !== undefined && !(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535)) {
    throw new WorkloadError(`${where}.port: expected an integer port 1..65535, got ${quote(a.port)}`);
  }
  const protocol = a.protocol ?? "tcp";
  if (protocol !== "tcp" && protocol !== "udp") {
    throw new WorkloadError(`${where}.protocol: expected "tcp" or "udp", got ${quote(a.protocol)}`);
  }
  return a.port === undefined ? { protocol } : { port: a.port, protocol };
}

/**
 * The application pairs of a spec, sorted (see the module doc): `"A->B"` and `"B->A"` for every call A -> B, and
 * `"client->E"`, `"E->client"` for every entry E with clients. A flow's tag is `tagBase + ` its pair's index.
 */
export function applicationPairs(spec: AppWorkloadSpec): string[] {
  const names = new Set<string>();
  for (const c of spec.calls) {
    names.add(`${c.from}->${c.to}`);
    names.add(`${c.to}->${c.from}`);
  }
  for (const e of spec.entries) {
    if (e.clients && e.clients.length > 0) {
      names.add(`${CLIENT_APP}->${e.app}`);
      names.add(`${e.app}->${CLIENT_APP}`);
    }
  }
  return [...names].sort(compareIds);
}

/**
 * The server of each application pair's exchanges (see the module doc): Y for `"X->Y"` when X calls Y or X is
 * `"client"` (its flows are requests), X otherwise (responses). Keys are {@link applicationPairs}.
 */
export function exchangeServers(spec: AppWorkloadSpec): Map<string, { server: string; request: boolean }> {
  const calls = new Set(spec.calls.map((c) => `${c.from}->${c.to}`));
  return new Map(
    applicationPairs(spec).map((name) => {
      const [from, to] = name.split("->") as [string, string];
      const request = from === CLIENT_APP || calls.has(name);
      return [name, { server: request ? to : from, request }];
    }),
  );
}

function release(inv: Invocation): void {
  inv.left--;
  if (inv.left === 0) inv.done();
}

function pick(nodes: readonly number[], rng: RandomStream): number {
  return nodes.length === 1 ? nodes[0]! : nodes[rng.int(nodes.length)]!;
}

function sizeOf(size: Size, rng: RandomStream): number {
  return typeof size === "number" ? size : Math.max(1, Math.round(size.sample(rng)));
}

function checkSize(size: Size, where: string): void {
  if (typeof size === "number") {
    if (!(size > 0) || !Number.isFinite(size)) {
      throw new WorkloadError(`${where}: expected a size > 0 bytes or a distribution, got ${quote(size)}`);
    }
  } else if (!(size.mean() > 0)) {
    throw new WorkloadError(`${where}: distribution has mean ${size.mean()}; must be > 0 bytes`);
  }
}

/**
 * Expected transfers (request and response flows) that one external request of each entry causes, in entry
 * order: an invocation of app A makes `T(A) = sum over A's calls of count x probability x (2 + T(callee))`, an
 * entry with clients adds its own request and response. Transfers between instances on one node count too (they
 * make no flow), so this bounds the expected flows from above.
 * @throws WorkloadError naming a cycle of the call graph (depth-first search in name order; calls to unknown
 *   apps are ignored here).
 */
export function expectedTransfers(spec: AppWorkloadSpec): number[] {
  const callsOf = new Map<string, CallSpec[]>(spec.apps.map((a) => [a.name, []]));
  for (const c of spec.calls) callsOf.get(c.from)?.push(c);
  const memo = new Map<string, number>();
  const stack: string[] = [];
  const visit = (app: string): number => {
    const known = memo.get(app);
    if (known !== undefined) return known;
    if (stack.includes(app)) {
      const cycle = [...stack.slice(stack.indexOf(app)), app];
      throw new WorkloadError(`calls: the call graph has a cycle: ${cycle.join(" -> ")}`);
    }
    stack.push(app);
    let t = 0;
    for (const c of callsOf.get(app) ?? []) {
      if (callsOf.has(c.to)) t += (c.count ?? 1) * (c.probability ?? 1) * (2 + visit(c.to));
    }
    stack.pop();
    memo.set(app, t);
    return t;
  };
  for (const name of [...callsOf.keys()].sort(compareIds)) visit(name);
  return spec.entries.map((e) => (memo.get(e.app) ?? 0) + ((e.clients?.length ?? 0) > 0 ? 2 : 0));
}
