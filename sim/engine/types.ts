/**
 * What the simulator engine runs: a {@link Scenario} (plain data and objects, every unit resolved to ns, bits/s
 * and bytes), and what it returns per policy. experiments/ builds scenarios from validated configs; the engine
 * knows nothing about files, YAML or the CLI.
 */

import type { LinkQuality } from "../../models/control/driver.ts";
import type { VerbOptionUse } from "../../models/policies/definition.ts";
import type { Policy } from "../../models/policies/types.ts";
import type { ActionKind } from "../../models/policies/verbs.ts";
import type { AttackSpec } from "../../models/security/attacks.ts";
import type { RegistryAccess } from "../../models/services/instance-directory.ts";
import type { AppWorkloadSpec } from "../../models/workload/applications.ts";
import type { SetupLatencies } from "../control/control-plane.ts";
import type { Distribution } from "../kernel/rng.ts";
import type { Path } from "../substrate/routing.ts";
import type { Topology } from "../substrate/topology.ts";
import type { TcpStartup } from "../transport/flow-network.ts";
import type { LinkBuffer } from "../transport/fluid-queues.ts";
import type { TransportModel } from "../transport/models.ts";
import type { PacketCongestionControl } from "../transport/packet/tcp-options.ts";

/** How a scenario's open-loop flow arrivals are drawn (config `workload.arrivals`). */
export type ArrivalProcess = "per-pair" | "superposed";

/** One interval of offered traffic: per ordered pair, a constant rate over [startNs, endNs) of simulated time. */
export interface DemandInterval {
  startNs: number;
  endNs: number;
  /**
   * Offered load per pair, bits/s; zero-rate pairs may be omitted. Node indices into the scenario's topology.
   * `sizeBytes`: every flow of the pair has this size (an intent mesh's requests); absent: the flow-size
   * distribution (models/workload/poisson-flows.ts PairDemand). May be a getter that builds a new array on each
   * read (a traffic matrix's intervals do, so demands never pile up as pairs x intervals): read it once per use.
   */
  readonly demands: readonly { src: number; dst: number; rateBps: number; sizeBytes?: number }[];
}

/** A link state change at a simulated time. */
export interface LinkEvent {
  atNs: number;
  /** Directed link indices affected (both directions of a bidirectional link). */
  links: readonly number[];
  up: boolean;
  /** A degradation (`state: degraded`): the links stay up with this quality until their next `up` event. */
  quality?: LinkQuality;
}

/**
 * The data plane of a static policy: the path a new flow takes. `flowKey` is the flow's arrival index within
 * its pair (0, 1, 2, ...), the same for every policy, so per-flow hashing (ECMP) is reproducible.
 * Return undefined when no path is usable (the engine then pins the flow to its failure-free path, where it
 * stalls until the link comes back).
 */
export interface RoutingPolicy {
  route(src: number, dst: number, flowKey: number): Path | undefined;
  /**
   * The set of down links changed. Return true when active flows crossing a down link should be moved to
   * `route(src, dst, key)` now (reconvergence), false to leave them stalled.
   */
  linksChanged?(down: ReadonlySet<number>): boolean;
}

/**
 * How a policy instance is created for one engine run: its routing (the default data plane) and, for control-loop
 * policies, the `controller` the control driver (models/control/driver.ts) calls every control interval.
 */
export interface EnginePolicy {
  /** Unique label in the experiment (the config's `label`, else the policy name). */
  label: string;
  /** Registry name, e.g. "shortest-path". */
  name: string;
  /** The policy's parameters as validated (for summaries). */
  params: Readonly<Record<string, unknown>>;
  /** Predictor backend in use, or null (manifest.json). */
  predictorBackend: string | null;
  /** The predictor's registry name (config `predictor.name`), or null for policies without one. */
  predictor: string | null;
  create(ctx: PolicyContext): RoutingPolicy;
  /**
   * For control-loop policies (models/policies): builds the policy that observes and acts every control interval
   * through the engine's ControlPlane; `create`'s routing is then its default data plane. Absent for static
   * baselines: they run as a models/policies/static-routes.ts policy on `create`'s routing, under the same control
   * driver (failures, convergence delay, time to recover).
   */
  controller?: (ctx: ControllerContext) => Policy | Promise<Policy>;
  /** The action verbs the controller may call (its definition's declaration, models/policies/definition.ts); checked before a run. */
  verbs?: readonly ActionKind[];
  /** The verb options its params turn on (its definition's `verbOptions`), each with the param; checked before a run. */
  verbOptions?: readonly VerbOptionUse[];
}

/** How the simulator carries flows (config section `transport`). */
export interface TransportSettings {
  model: TransportModel;
  /** TCP start-up of every flow, or null: flows start at their max-min share. */
  tcp: TcpStartup | null;
  /** Fluid queues' buffer per link (sim/transport/fluid-queues.ts), or null/absent: no queues. */
  queue?: LinkBuffer | null;
  /** The packet model's congestion control (absent: NewReno); the fluid model has none. */
  congestionControl?: PacketCongestionControl;
  /** The packet model's SACK loss recovery (absent: on, as Linux); the fluid model has none. */
  sack?: boolean;
  /** The packet model's TCP timers as multiples of Linux's ({@link scaleTcpTimers}; absent: 1). */
  timerScale?: number;
}

/** The control plane's settings (config section `control`). */
export interface ControlSettings {
  /** Control interval, ns. */
  intervalNs: number;
  setupLatencyNs: SetupLatencies;
  /** VNAs (virtual-link endpoints) per node. */
  vnaPoolSize: number;
  /** Candidate paths per decision (k shortest). */
  kPaths: number;
  /** Default routes reconverge this long after a failure, ns (0: at once). */
  convergenceDelayNs: number;
}

/** What a controller factory gets: the substrate, the settings, and the traffic it may learn from or (oracle) foresee. */
export interface ControllerContext extends PolicyContext {
  /** The run's registry, when the scenario asks for one (`Scenario.registry`). */
  registry?: RegistryAccess;
  /** Node ids, sorted (the Observation's `nodes`; pairs indexed as models/policies/common.ts PairIndex). */
  nodes: readonly string[];
  control: ControlSettings;
  /** Offered bytes per ordered pair per control interval of the run, from the workload: what an oracle reads. */
  pairBytes: readonly Float64Array[];
  /** Offered utilization per link (links in id order, as Observation.links) per control interval, on default paths. */
  linkUtilization: readonly Float64Array[];
  /** Offered bytes per pair per control interval before the simulated window (the training span). */
  trainingPairBytes: readonly Float64Array[];
  /** Offered link utilization per control interval over the training span. */
  trainingLinkUtilization: readonly Float64Array[];
}

export interface PolicyContext {
  topology: Topology;
  seed: number;
  run: number;
}

export interface Scenario {
  name: string;
  seed: number;
  run: number;
  topology: Topology;
  /** Offered traffic, in time order, non-overlapping. */
  intervals: readonly DemandInterval[];
  /** Traffic before the window (negative times, ending at 0), for predictors to train on; may be empty. */
  trainingIntervals: readonly DemandInterval[];
  control: ControlSettings;
  transport: TransportSettings;
  flowSizes: Distribution;
  /**
   * How the intervals' flow arrivals are drawn (sim/engine/schedule.ts): a Poisson process per pair
   * (models/workload/poisson-flows.ts) or one superposed process per interval (models/workload/superposed-flows.ts).
   * @default "per-pair"
   */
  arrivals?: ArrivalProcess;
  policies: readonly EnginePolicy[];
  failures: readonly LinkEvent[];
  /** Attack workload of the sidecar mesh (sim/engine/attacks.ts); absent: none. */
  attacks?: readonly AttackSpec[];
  metrics: {
    intervalNs: number;
    /** Size bucket edges, bytes, ascending. */
    sizeBucketEdges: readonly number[];
    sizeBucketNames: readonly string[];
    /** Profile bytes and flows per application per interval (PolicyRunResult.profile). */
    profile?: boolean;
  };
  /**
   * Applications whose RPC flows run alongside the intervals' flows, from time 0 to the end of the last interval
   * (no new external requests after it). Their flows are tagged from N x N up (N nodes), after the node pairs.
   */
  applications?: AppWorkloadSpec;
  /**
   * Discover the intent mesh's instances through a registry (the config's `intents.registry`): the engine deploys
   * one on `nodes` (the substrate without the anycast nodes) and offers it to the policies; answers are cached for
   * `ttlNs`; `replication` is the simulator's Kademlia k.
   */
  registry?: { ttlNs: number; nodes: readonly string[]; replication: number; registrationWaitNs: number };
}
