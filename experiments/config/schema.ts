/**
 * The experiment config, declared once: every parameter with its doc, unit and default. The same declaration
 * validates configs (`topocast validate`), fills defaults into the effective config written next to each result
 * (config.json), and is exported as experiments/topocast.schema.json for editors (`npm run schema`).
 *
 * Conventions: quantities are strings with units (`"10ms"`, `"10Gbps"`, `"1.5MB"`); simulated time starts at 0;
 * relative paths are relative to the config file; every object is strict (an unknown field is an error, with
 * the allowed fields listed).
 */

import * as z from "zod";
import { DEFAULT_K_PATHS } from "../../models/policies/definition.ts";
import { latencyDecls, type SetupLatencyKeyOf, type VerbTable } from "../../models/policies/verb-table.ts";
import { VERBS } from "../../models/policies/verbs.ts";
import {
  PREDICTOR_DOCS,
  PREDICTOR_NAMES,
  PREDICTOR_PARAMS,
  type PredictorConfig,
} from "../../models/predictors/registry.ts";
import { INTENT_MESH_SCHEMA } from "../../models/services/intent-mesh.ts";
import { BUNDLED_FLOW_SIZE_CDFS } from "../../models/workload/flow-size-cdf.ts";
import { GRAVITY_DEFAULTS } from "../../models/workload/gravity-tm.ts";
import { TRANSPORT_MODELS } from "../../sim/transport/models.ts";
import { PACKET_CONGESTION_CONTROLS } from "../../sim/transport/packet/tcp-options.ts";
import { POLICY_REGISTRY, type PolicyRegistry } from "../policy-registry.ts";
import { SIM_MODEL_VARIANTS } from "../sim-vs-emulation/sim-models.ts";
import { duration, filePath, rate, size } from "./fields.ts";

const doc = (description: string) => ({ description });

// ------------------------------------------------------------------------------------------------ topology

const GeneratorSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("line"), n: z.int().min(2).meta(doc("Number of nodes.")) }),
    z.strictObject({ kind: z.literal("ring"), n: z.int().min(3).meta(doc("Number of nodes.")) }),
    z.strictObject({ kind: z.literal("star"), leaves: z.int().min(1).meta(doc("Number of leaves.")) }),
    z.strictObject({
      kind: z.literal("grid"),
      rows: z.int().min(1).meta(doc("Rows of the grid.")),
      cols: z.int().min(1).meta(doc("Columns of the grid.")),
    }),
    z.strictObject({
      kind: z.literal("fatTree"),
      k: z.int().min(2).meta(doc("Port count per switch (even).")),
      hosts: z.boolean().default(false).meta(doc("Attach k/2 hosts per edge switch.")),
    }),
    z.strictObject({
      kind: z.literal("leafSpine"),
      spines: z.int().min(1).meta(doc("Number of spine switches.")),
      leaves: z.int().min(1).meta(doc("Number of leaf switches.")),
      hostsPerLeaf: z.int().min(0).default(0).meta(doc("Hosts attached to each leaf.")),
    }),
  ])
  .meta(doc("A synthetic topology (sim/substrate/generators.ts)."));

const LinkDefaultsSchema = z
  .strictObject({
    capacity: rate("Capacity of links whose source gives none (and of every generated link).", {
      min: 0,
      exclusiveMin: true,
    }).default("10Gbps"),
    delay: duration(
      "Propagation delay of links whose source gives none and whose ends lack coordinates.",
    ).default("1ms"),
    delayFromCoordinates: z
      .boolean()
      .default(true)
      .meta(
        doc(
          "Derive an unspecified delay from the great-circle distance at 2e8 m/s when both ends have coordinates.",
        ),
      ),
  })
  .meta(doc("Link properties for whatever the topology source leaves out."));

/** One source of a network: exactly one of zoo, file or generator, with its link defaults. */
const sourceFields = {
  zoo: z
    .string()
    .optional()
    .meta(doc('A bundled Topology Zoo network: "Abilene", "Geant2012" or "Cogentco".')),
  file: filePath("A Topology Zoo .graphml or SNDlib network .xml file.").optional(),
  generator: GeneratorSchema.optional(),
  links: LinkDefaultsSchema.prefault({}),
};

/** Adds an issue unless exactly one of `keys` is given. */
function exactlyOne<T extends Record<string, unknown>>(keys: readonly (keyof T & string)[]) {
  return (t: T, ctx: z.RefinementCtx) => {
    const given = keys.filter((k) => t[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message:
          given.length === 0
            ? `name one source: ${keys.join(", ").replace(/, (\w+)$/, " or $1")}`
            : `name one source, not ${given.join(" and ")}`,
      });
    }
  };
}

const SubstrateSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a letter, then letters, digits, _ or -")
      .meta(doc("The substrate's name: its nodes' ids become `<name>:<id>`.")),
    ...sourceFields,
  })
  .superRefine(exactlyOne(["zoo", "file", "generator"]))
  .meta(doc("One substrate of several: a name and exactly one of zoo, file or generator."));

const GatewaySchema = z
  .strictObject({
    between: z
      .tuple([z.string(), z.string()])
      .meta(doc("The two ends, `<substrate>:<node>`, in different substrates.")),
    capacity: rate("Capacity; default: the topology's link default.", {
      min: 0,
      exclusiveMin: true,
    }).optional(),
    delay: duration("One-way propagation delay; default: the topology's link default.").optional(),
    secure: z.boolean().default(false).meta(doc("Whether the gateway link is trusted/encrypted.")),
    egressCostPerGB: z.number().min(0).default(0).meta(doc("Egress cost per GB sent over the gateway.")),
    oneWay: z.boolean().default(false).meta(doc("Only between[0] -> between[1].")),
  })
  .meta(doc("A link joining two substrates."));

export const TopologySchema = z
  .strictObject({
    ...sourceFields,
    substrates: z
      .array(SubstrateSchema)
      .min(2)
      .optional()
      .meta(doc("Several networks in one (sim/substrate/compose.ts), joined by `gateways`.")),
    gateways: z
      .array(GatewaySchema)
      .default([])
      .meta(doc("Links between substrates (with `substrates` only).")),
  })
  .superRefine(exactlyOne(["zoo", "file", "generator", "substrates"]))
  .superRefine((t, ctx) => {
    if (t.substrates === undefined && t.gateways.length > 0)
      ctx.addIssue({
        code: "custom",
        path: ["gateways"],
        message: "gateways join substrates: list `substrates`",
      });
  })
  .meta(
    doc(
      "The substrate network: exactly one of zoo, file, generator or substrates (several joined by gateways), plus link defaults.",
    ),
  );

// ------------------------------------------------------------------------------------------------ workload

const TmSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("uniform"),
      rate: rate("Offered load of every ordered node pair before load scaling.", { min: 0 }).default("1Gbps"),
    }),
    z.strictObject({
      kind: z.literal("gravity"),
      total: rate("Expected network-wide offered rate, averaged over a weekday, before load scaling.", {
        min: 0,
        exclusiveMin: true,
      }).default("10Gbps"),
      interval: duration("Length of one synthetic traffic-matrix interval.", {
        min: 0,
        exclusiveMin: true,
      }).default("5min"),
      start: z
        .string()
        .regex(/^\d{8}-\d{4}$/, { error: 'expected a YYYYMMDD-HHMM clock time such as "20040301-0000"' })
        .default(GRAVITY_DEFAULTS.start)
        .meta(doc("Clock time of the first interval (sets hour of day and weekday).")),
      diurnalAmplitude: z
        .number()
        .min(0)
        .lt(1)
        .default(GRAVITY_DEFAULTS.diurnalAmplitude)
        .meta(doc("Relative amplitude of the 24-hour cycle (0 = none); default fitted to the Abilene week.")),
      peakHour: z
        .number()
        .min(0)
        .lt(24)
        .default(GRAVITY_DEFAULTS.peakHour)
        .meta(doc("Clock hour of the daily peak.")),
      weekendFactor: z
        .number()
        .gt(0)
        .default(GRAVITY_DEFAULTS.weekendFactor)
        .meta(doc("Rate multiplier on Saturdays and Sundays (1 = no weekly cycle).")),
      noiseSigma: z
        .number()
        .min(0)
        .default(GRAVITY_DEFAULTS.noiseSigma)
        .meta(doc("Standard deviation of the log of the per-pair, per-interval lognormal noise (0 = none).")),
      sharedMasses: z
        .boolean()
        .default(GRAVITY_DEFAULTS.sharedMasses)
        .meta(
          doc("One mass per node (symmetric gravity) instead of independent outgoing and incoming masses."),
        ),
    }),
    z.strictObject({
      kind: z.literal("sndlib"),
      dir: filePath("A directory of SNDlib demandMatrix-*.xml files (one per interval)."),
    }),
    z.strictObject({
      kind: z.literal("csv"),
      file: filePath(
        "A CSV traffic-matrix series: columns time_s,src,dst,rate_bps (models/workload/csv-tm-series.ts).",
      ),
      interval: duration("Interval length; default: the spacing of the file's times.", {
        min: 0,
        exclusiveMin: true,
      }).optional(),
    }),
  ])
  .meta(doc("Where the traffic matrix (offered load per node pair and interval) comes from."));

const LoadSchema = z
  .strictObject({
    targetMlu: z
      .number()
      .gt(0)
      .max(2)
      .optional()
      .meta(
        doc(
          "Scale the matrix so the peak offered max-link-utilization over the window, with every pair on its reference path, equals this. Excludes `scale`.",
        ),
      ),
    scale: z.number().gt(0).optional().meta(doc("Multiply every rate by this. Excludes `targetMlu`.")),
    reference: z
      .enum(["delay", "hops"])
      .default("delay")
      .meta(
        doc("Shortest-path weight of the reference routing used by `targetMlu` (the same for every policy)."),
      ),
  })
  .superRefine((l, ctx) => {
    if (l.targetMlu !== undefined && l.scale !== undefined) {
      ctx.addIssue({ code: "custom", message: "give targetMlu or scale, not both" });
    }
  })
  .meta(doc("Load scaling; neither field means the rates as given."));

const FlowSizesSchema = z
  .strictObject({
    bundled: z
      .enum(Object.keys(BUNDLED_FLOW_SIZE_CDFS) as [string, ...string[]])
      .optional()
      .meta(doc("A bundled flow-size CDF (websearch = DCTCP web search).")),
    cdf: filePath("A flow-size CDF file: lines of `size cdf`.").optional(),
    unit: size("Bytes per size unit of the CDF file (e.g. 1460B for files in packets).", {
      min: 0,
      exclusiveMin: true,
    }).default("1B"),
  })
  .superRefine((f, ctx) => {
    if ((f.bundled === undefined) === (f.cdf === undefined)) {
      ctx.addIssue({ code: "custom", message: "give exactly one of bundled or cdf" });
    }
  })
  .meta(doc("Flow-size distribution."));

const WindowSchema = z
  .strictObject({
    start: duration("Start of the window in traffic-matrix time (offset into a TM series).").default("0s"),
    duration: duration("Length of the window in traffic-matrix time.", {
      min: 0,
      exclusiveMin: true,
    }).default("10s"),
  })
  .meta(doc("Which part of the traffic is simulated."));

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const messageSize = (what: string) => size(what, { min: 0, exclusiveMin: true });

const AppSchema = z
  .strictObject({
    name: z
      .string()
      .regex(NAME, { error: "expected letters, digits, '.', '_' or '-'" })
      .refine((n) => n !== "client", { error: '"client" names the external clients; choose another name' })
      .meta(doc('Application name, e.g. "frontend".')),
    instances: z
      .array(z.string())
      .min(1)
      .meta(doc("Topology node ids, one instance each (at most one per node).")),
    serviceTime: duration("Time between receiving a request and issuing its calls.").default("0s"),
    version: z
      .string()
      .min(1)
      .optional()
      .meta(doc("The application's version (a release tag or hash); its persona records it.")),
    port: z
      .int()
      .min(1)
      .max(65535)
      .optional()
      .meta(doc("Server port its instances listen on; flows to and from it carry it.")),
    protocol: z
      .enum(["tcp", "udp"])
      .optional()
      .meta(doc("Transport protocol of its exchanges (default tcp).")),
    dependencies: z
      .array(z.string())
      .optional()
      .meta(doc("Applications it depends on (a database, an external API): its critical peers.")),
  })
  .meta(
    doc("An application, where its instances run, and its identity (version, port, protocol, dependencies)."),
  );

const CallSchema = z
  .strictObject({
    from: z.string().meta(doc("Calling application.")),
    to: z.string().meta(doc("Called application (a uniformly chosen instance).")),
    request: messageSize("Request size of each call."),
    response: messageSize("Response size of each call."),
    count: z.int().min(1).default(1).meta(doc("Calls per invocation of `from`, issued in parallel.")),
    probability: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .meta(doc("Probability that each call is made (e.g. a cache miss ratio).")),
  })
  .meta(doc("An edge of the RPC call graph (a DAG): `from` calls `to` and waits for the response."));

const EntrySchema = z
  .strictObject({
    app: z.string().meta(doc("Application that receives external requests.")),
    requestsPerSecond: z
      .number()
      .gt(0)
      .meta(doc("Mean external requests per second of simulated time (Poisson arrivals).")),
    clients: z
      .array(z.string())
      .default([])
      .meta(
        doc(
          "Client node ids: each request travels from a uniformly chosen client to an entry instance and its response back; none: requests start at the entry instance.",
        ),
      ),
    request: messageSize("Client request size (required with clients).").optional(),
    response: messageSize("Response size to the client (required with clients).").optional(),
  })
  .superRefine((e, ctx) => {
    if (e.clients.length === 0) return;
    for (const k of ["request", "response"] as const) {
      if (e[k] === undefined) ctx.addIssue({ code: "custom", path: [k], message: "required with clients" });
    }
  })
  .meta(doc("Where external requests enter the call graph."));

export const ApplicationsSchema = z
  .strictObject({
    apps: z.array(AppSchema).min(1).meta(doc("The applications.")),
    calls: z.array(CallSchema).default([]).meta(doc("The RPC call graph; it must have no cycle.")),
    entries: z.array(EntrySchema).min(1).meta(doc("External request sources.")),
  })
  .superRefine((a, ctx) => {
    const names = new Map<string, number>();
    a.apps.forEach((app, i) => {
      const j = names.get(app.name);
      if (j !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["apps", i, "name"],
          message: `apps[${j}] and apps[${i}] are both "${app.name}"`,
        });
      }
      names.set(app.name, i);
    });
    const known = [...names.keys()].sort().join(", ");
    const check = (name: string, path: (string | number)[]) => {
      if (!names.has(name)) {
        ctx.addIssue({ code: "custom", path, message: `unknown application "${name}"; known: ${known}` });
      }
    };
    a.calls.forEach((c, i) => {
      check(c.from, ["calls", i, "from"]);
      check(c.to, ["calls", i, "to"]);
    });
    a.apps.forEach((app, i) => {
      (app.dependencies ?? []).forEach((dep, k) => {
        check(dep, ["apps", i, "dependencies", k]);
      });
    });
    for (const [i, e] of a.entries.entries()) check(e.app, ["entries", i, "app"]);
  })
  .meta(
    doc(
      "Applications with an RPC call graph (models/workload/applications.ts): their request and response flows run alongside the traffic matrix (a uniform matrix of 0bps leaves only them).",
    ),
  );

export const WorkloadSchema = z
  .strictObject({
    tm: TmSchema.prefault({ kind: "uniform" }),
    nodeMap: z
      .record(z.string(), z.string())
      .default({})
      .meta(doc("Traffic-matrix node id -> topology node id, for ids that differ; others must match.")),
    window: WindowSchema.prefault({}),
    playInterval: duration(
      "Simulated time each TM interval is played for; default: its own length (real time).",
      {
        min: 0,
        exclusiveMin: true,
      },
    ).optional(),
    training: duration(
      "Span of TM history before window.start given to predictors to train on (unused by static policies).",
    ).default("0s"),
    load: LoadSchema.prefault({}),
    flowSizes: FlowSizesSchema.prefault({ bundled: "websearch" }),
    arrivals: z
      .enum(["per-pair", "superposed"])
      .optional()
      .meta(
        doc(
          'How flow arrivals are drawn (absent: "per-pair"). "per-pair": a Poisson process per node pair, each with its own stream (models/workload/poisson-flows.ts). "superposed": one Poisson process per demand interval at the summed rate, each flow\'s pair drawn from an alias table (models/workload/superposed-flows.ts): the same traffic in distribution, other flows for a seed, far less time and memory on large networks (hundreds of nodes).',
        ),
      ),
    applications: ApplicationsSchema.optional(),
  })
  .meta(
    doc(
      "Offered traffic: a traffic matrix played as Poisson flow arrivals per node pair, and optionally applications.",
    ),
  );

// ------------------------------------------------------------------------------------------------ policies

const PredictorSchema = z
  .discriminatedUnion(
    "name",
    PREDICTOR_NAMES.map((name) =>
      z
        .strictObject({
          name: z.literal(name).meta(doc(PREDICTOR_DOCS[name])),
          params: (PREDICTOR_PARAMS[name] as z.ZodObject).prefault({}).meta(doc("Predictor parameters.")),
        })
        .meta(doc(PREDICTOR_DOCS[name])),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  )
  .meta({
    id: "predictor",
    description: "The traffic predictor a predictive policy consults (models/predictors) and its parameters.",
  });

/** A `policies[]` entry over a registry's definitions: a discriminated union by `name`, each with its params. */
export function policySchema(registry: PolicyRegistry) {
  const variants = [...registry.values()].map((d) =>
    z
      .strictObject({
        name: z.literal(d.name).meta(doc(d.doc)),
        label: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: "expected letters, digits, '.', '_' or '-'" })
          .optional()
          .meta(doc("Name in results when a policy appears twice (default: the policy name).")),
        predictor: PredictorSchema.optional(),
        params: d.params.prefault({}),
      })
      .meta(doc(d.doc)),
  );
  return z
    .discriminatedUnion("name", variants as unknown as [z.ZodObject, ...z.ZodObject[]])
    .meta(doc("A policy from the registry (experiments/policy-registry.ts) and its parameters."));
}

// ------------------------------------------------------------------------------------------------ rest

/** An attack of the sidecar mesh's attack workload (models/security/attacks.ts). */
export const AttackSchema = z.strictObject({
  kind: z
    .enum(["unauthenticated", "scan"])
    .meta(
      doc(
        "`unauthenticated`: an attacker without a valid certificate connecting to other nodes' sidecars (refused by authentication); `scan`: a port scanner touching ports 1-1023 of other nodes (tripwires).",
      ),
    ),
  node: z.string().meta(doc("The source node id.")),
  targets: z
    .array(z.string())
    .optional()
    .meta(doc("Destination node ids to choose from (default: every other node).")),
  at: duration("Simulated time of the first possible attempt."),
  duration: duration("How long attempts keep coming.", { min: 0, exclusiveMin: true }),
  rate: z
    .number()
    .gt(0)
    .meta(doc("Mean attempts per second (Poisson, from the stream security/attack/<index>).")),
});

export const FailureSchema = z
  .strictObject({
    at: duration("Simulated time of the event."),
    link: z
      .string()
      .meta(doc('A directed link id as `topocast topo show` names them, e.g. "ATLAM5->ATLAng".')),
    state: z
      .enum(["down", "up", "degraded"])
      .meta(
        doc(
          "The link's new state: `down`, `up` (also ends a degradation: nominal capacity and delay, no loss), or `degraded` (up, with `capacity`, `delay` and `loss`).",
        ),
      ),
    bothDirections: z.boolean().default(true).meta(doc("Also change the reverse link.")),
    capacity: rate("Degraded only: the link's capacity (default: its nominal capacity).", {
      min: 0,
      exclusiveMin: true,
    }).optional(),
    delay: duration("Degraded only: the link's one-way delay (default: its nominal delay).", {
      min: 0,
    }).optional(),
    loss: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .meta(
        doc(
          "Degraded only: the fraction of packets lost, in [0, 1) (default 0). The fluid model caps each crossing flow at its Mathis rate; the packet model drops packets with this probability; the emulator's wire relay drops datagrams.",
        ),
      ),
  })
  .superRefine((f, ctx) => {
    const given = (["capacity", "delay", "loss"] as const).filter((k) => f[k] !== undefined);
    if (f.state !== "degraded" && given.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: [given[0]!],
        message: `only a degraded link has a ${given[0]}; state is "${f.state}" (allowed with ${given[0]}: "degraded")`,
      });
    }
    if (f.state === "degraded" && given.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["state"],
        message: "a degraded link needs at least one of capacity, delay or loss",
      });
    }
  })
  .meta(doc("A link failure, repair or degradation."));

const MetricsSchema = z
  .strictObject({
    interval: duration("Link utilization sampling interval.", { min: 0, exclusiveMin: true }).default(
      "100ms",
    ),
    sizeBuckets: z
      .array(size("A bucket edge.", { min: 0, exclusiveMin: true }))
      .default(["100kB", "10MB"])
      .meta(doc("Ascending flow-size bucket edges; k edges make k + 1 buckets [0, e0), ..., [e(k-1), inf).")),
    bucketNames: z
      .array(z.string())
      .optional()
      .meta(doc("A name per bucket (default small/medium/large for the default edges).")),
    profile: z
      .boolean()
      .optional()
      .meta(
        doc(
          'Write profile.csv: bytes and flows per application per metrics interval, counted at arrival (models/workload/profiler.ts); the applications are the application pairs of workload.applications ("frontend->cart") and "tm" for the traffic matrix\'s flows.',
        ),
      ),
    mluBound: z
      .boolean()
      .optional()
      .meta(
        doc(
          "Solve the min-MLU bound of the offered traffic per demand interval (an LP with HiGHS over the links up in the interval, experiments/mlu-bound.ts) and write it to summary.json (mluBound) with each policy's mean MLU against it: the best any routing could do on the offered matrix. Cost: one LP per interval (milliseconds on Abilene; minutes on networks of hundreds of nodes).",
        ),
      ),
  })
  .meta(doc("What collectors measure."));

/**
 * `control.setupLatency`: one duration field per setup-latency key of a verb table, with the key's doc and
 * default (the config takes the production table's, models/policies/verbs.ts).
 */
export function setupLatencySchema<T extends VerbTable>(table: T) {
  const fields = latencyDecls(table).map((d) => [d.key, duration(d.doc).default(d.default)] as const);
  return z.strictObject(
    Object.fromEntries(fields) as Record<SetupLatencyKeyOf<T>, (typeof fields)[number][1]>,
  );
}

const ControlSchema = z
  .strictObject({
    interval: duration("Control interval: how often control-loop policies observe and act.", {
      min: 0,
      exclusiveMin: true,
    }).default("1s"),
    setupLatency: setupLatencySchema(VERBS)
      .prefault({})
      .meta(doc("Setup latency of each control action (counted as overhead).")),
    vnaPool: z.int().min(0).default(4).meta(doc("Virtual-link endpoints (VNAs) per node.")),
    kPaths: z
      .int()
      .min(1)
      .default(DEFAULT_K_PATHS)
      .meta(doc("Candidate paths per control decision (k shortest by delay).")),
    convergenceDelay: duration(
      "After a failure, default routes reconverge (stalled flows move) this long after it.",
    ).default("0s"),
  })
  .meta(doc("The control plane of control-loop policies (predictive-overlay, mirroring, reactive)."));

const TransportSchema = z
  .strictObject({
    model: z
      .enum(TRANSPORT_MODELS)
      .default("fluid")
      .meta(
        doc(
          "How the simulator carries flows: fluid = max-min fair rates over directed links (flow-level); packet = every flow a TCP NewReno connection (handshake, slow start, fast retransmit and recovery, RTO with Linux's 200 ms floor, delayed ACKs) whose packets cross drop-tail FIFOs with serialization and propagation delays (slower; no mirrors, reservations or QoS classes).",
        ),
      ),
    tcp: z
      .union([
        z.literal(false),
        z.strictObject({
          handshake: z
            .boolean()
            .default(true)
            .meta(doc("A flow spends one round trip on the handshake before its first data byte.")),
          initialWindow: z
            .int()
            .min(1)
            .max(1000)
            .default(10)
            .meta(doc("Initial congestion window, segments (Linux: 10, RFC 6928).")),
          mss: size("Payload bytes per segment (1448 on a 1500-byte MTU with TCP timestamps).", {
            min: 1,
          }).default("1448B"),
        }),
      ])
      .prefault({})
      .meta(
        doc(
          "TCP start-up of every flow (handshake and slow start, Cardwell et al. INFOCOM 2000, without losses), as Linux runs it in the emulator; false: flows start at their max-min share at once. The packet model takes handshake, initialWindow and mss from here (false: no handshake).",
        ),
      ),
    congestionControl: z
      .enum(PACKET_CONGESTION_CONTROLS)
      .optional()
      .meta(
        doc(
          "The packet model's congestion control: newreno (RFC 5681, RFC 6582; the default) or cubic (RFC 9438 window growth and decrease, without HyStart; loss recovery as transport.sack says). The fluid model has none.",
        ),
      ),
    sack: z
      .boolean()
      .optional()
      .meta(
        doc(
          "The packet model's loss recovery: true (the default, as Linux) = selective acknowledgements (RFC 2018) with RFC 6675's scoreboard and conservative pipe and Proportional Rate Reduction (RFC 6937); false = NewReno's recovery (RFC 6582). The fluid model has none.",
        ),
      ),
    timerScale: z
      .number()
      .gt(0)
      .max(1000)
      .optional()
      .meta(
        doc(
          "The packet model's TCP timers (RTO floor, initial and maximum RTO, clock granularity, delayed-ACK timer) as multiples of Linux's (1, the default: 200 ms, 1 s, 120 s, 1 ms, 40 ms). The emulator's kernel runs these timers in wall time, so at emulation.timeCompression c they last c times as long in simulated time; the packet model compared beside an emulation runs with timerScale c (emulation.compareWith). The fluid model has none.",
        ),
      ),
    queue: z
      .union(
        [
          z.literal(false),
          z.string().regex(/^[1-9]\d*p$/, 'packets: "<n>p", e.g. "1000p"'),
          duration("", { min: 0, exclusiveMin: true }),
          size("", { min: 1 }),
        ],
        { error: 'expected false, packets ("1000p"), a queueing delay ("10ms") or a size ("1.5MB")' },
      )
      .default(false)
      .meta(
        doc(
          'Fluid queues (with tcp): per link, the congestion windows of its flows beyond the bandwidth-delay product wait in a drop-tail FIFO of this buffer, and every flow crossing it sees the queueing delay (Misra, Gong and Towsley, SIGCOMM 2000). The buffer as queueing delay at the link rate ("10ms", as the emulator sizes its FIFOs by default), packets of 1514 bytes ("1000p") or bytes ("1.5MB"); false: no queues. The packet model\'s FIFO of every link (packets: a packet count, as pfifo); false: the emulator\'s default, 10 ms at the link rate.',
        ),
      ),
  })
  .meta(doc("The simulator's transport model."));

const RegistrySchema = z
  .strictObject({
    ttl: duration(
      "How long a client uses a discovery answer before it asks the registry again (simulated time).",
      { min: 0, exclusiveMin: true },
    ).default("1s"),
    replication: z
      .int()
      .min(1)
      .default(20)
      .meta(
        doc(
          "The DHT's bucket size, lookup width and replication factor k (Kademlia paper and bittorrent-dht: 20), in both engines: the simulator's Kademlia model and the emulator's bittorrent-dht nodes. A node holding a key answers its own lookups without messages, so k below the node count makes discovery cross the network.",
        ),
      ),
    registrationWait: duration(
      "How long the first discoveries of a service wait for that service's instances' registrations (simulated time, from the first control step): then they start even if some registration has not completed (counted: summary.json `discovery.registrationsLate`). Until a client's first discovery answers, its steps use the instances listed here (counted: `discovery.fallbackAnswers`).",
      { min: 0 },
    ).default("1s"),
  })
  .meta(
    doc(
      "Discover the instances through the registry (a DHT: the Kademlia model in the simulator, one bittorrent-dht process per node in the emulator) instead of reading them from this section: instances register at start, their nodes update their health when they fail, clients cache answers for `ttl` (models/services/instance-directory.ts).",
    ),
  );

const EmulationSchema = z
  .strictObject({
    timeCompression: z
      .number()
      .gt(0)
      .default(1)
      .meta(
        doc(
          "Wall-clock time runs this many times faster than simulated time (< 1 slows it down). Link delays and the control interval are divided by it; flow sizes scale by rateScale / timeCompression, so every flow's ideal FCT, in simulated time, is unchanged and utilizations match the simulation.",
        ),
      ),
    rateScale: z
      .number()
      .gt(0)
      .default(1)
      .meta(
        doc(
          "Link rates are multiplied by this (e.g. 0.01 emulates 10 Gbit/s links at 100 Mbit/s); flow sizes scale with it.",
        ),
      ),
    duration: duration("Emulate only this much of the traffic window, simulated time (default: all of it).", {
      min: 0,
      exclusiveMin: true,
    }).optional(),
    drain: duration(
      "After the window, wait at most this long (simulated time) for flows to finish; the rest count as unfinished.",
    ).default("30s"),
    delay: z
      .enum(["auto", "netem", "wire", "ignore"])
      .default("auto")
      .meta(
        doc(
          'Link delay and loss: netem where the kernel has it, else the userspace wire ("auto"); "ignore" drops them.',
        ),
      ),
    rate: z
      .enum(["auto", "htb", "tbf", "none"])
      .default("auto")
      .meta(doc('Link rate limits: htb, else tbf, else the wire relay ("auto"); "none" drops them.')),
    addressBlock: z
      .string()
      .default("10.213.0.0/16")
      .meta(doc("Private IPv4 block for every address of the run, used only inside its namespaces.")),
    port: z.int().min(1).max(65535).default(7000).meta(doc("TCP port of the traffic agents.")),
    queue: z
      .union([z.literal("1000p"), duration("", { min: 0, exclusiveMin: true })])
      .default("10ms")
      .meta(
        doc(
          'Buffer of every rate-limited link, as queueing delay at the link rate in simulated time (a byte FIFO of one bandwidth-delay product), or "1000p" for a 1000-packet FIFO. The simulator\'s fluid model has no buffers unless transport.queue gives them: smaller is closer to it then, too small starves TCP.',
        ),
      ),
    allowDegrade: z
      .boolean()
      .default(false)
      .meta(
        doc(
          "Run even when some configured property cannot be emulated (the manifest lists what was dropped); otherwise such a config is refused.",
        ),
      ),
    maxFlows: z
      .int()
      .min(1)
      .default(100_000)
      .meta(doc("Refuse to emulate more flows than this (each is a real TCP connection).")),
    checkRates: z
      .boolean()
      .default(false)
      .meta(
        doc(
          "Before the first policy, measure every link's achieved rate with iperf3, one link at a time (about 3 s per directed link); delays are always measured (ping).",
        ),
      ),
    conntrack: z
      .boolean()
      .default(false)
      .meta(
        doc(
          "Record the applications' connections with the kernel's connection tracker (conntrack, Debian package conntrack) in every namespace, beside the agents' own reports: a second source for learning personas (emulate/conntrack.ts).",
        ),
      ),
    compareWith: z
      .array(z.enum(SIM_MODEL_VARIANTS))
      .min(1)
      .optional()
      .refine((v) => v === undefined || new Set(v).size === v.length, "list each model once")
      .meta(
        doc(
          "The simulator models the emulation is compared with, side by side (`topocast emulate --with-sim` runs each on the same config): fluid = max-min rates without TCP start-up (transport.tcp false), fluid-tcp = the TCP-aware fluid model (handshake and slow-start rounds), packet = the packet model (transport.model packet, its FIFOs sized as emulation.queue). Default: the config's own transport only.",
        ),
      ),
  })
  .meta(doc("Settings of `topocast emulate <config>` (Linux namespaces; ignored by `topocast run`)."));

const SweepSchema = z
  .strictObject({
    grid: z
      .record(z.string(), z.array(z.unknown()).min(1))
      .default({})
      .meta(
        doc(
          'Config paths (as for --set, e.g. "workload.load.targetMlu") to lists of values; the sweep runs their cartesian product.',
        ),
      ),
    seeds: z.array(z.int().min(0)).min(1).optional().meta(doc("Seeds to run (default: [seed]).")),
    runs: z.int().min(1).optional().meta(doc("Replications per seed (default: runs).")),
    samples: z
      .array(z.string())
      .default([])
      .meta(
        doc(
          "Grid keys whose values are samples of one population (e.g. workload.window.start: traffic windows). The report pools them with seeds and runs: per point of the other keys, each metric's mean with a 95% confidence interval and paired comparisons between policies.",
        ),
      ),
    references: z
      .array(z.string())
      .optional()
      .meta(
        doc(
          "Policy labels every other policy is compared with, pairwise over the same runs, in the sweep report (default: the first policy).",
        ),
      ),
  })
  .meta(doc("A parameter sweep for `topocast sweep`."));

/**
 * The experiment config over a registry of policies: {@link ExperimentSchema} for the built-in one; a test adds a
 * fixture policy by passing its own registry (experiments/policy-registry.ts `policyRegistry`).
 */
export function experimentSchema(registry: PolicyRegistry) {
  return z
    .strictObject({
      $schema: z.string().optional().meta(doc("JSON Schema reference for editors (ignored).")),
      name: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
          error: "expected letters, digits, '.', '_' or '-' (a directory name)",
        })
        .meta(doc("Experiment name; results go to <output.dir>/<name>/.")),
      description: z.string().optional().meta(doc("What the experiment shows.")),
      seed: z.int().min(0).default(1).meta(doc("Seed of every random stream.")),
      runs: z
        .int()
        .min(1)
        .default(1)
        .meta(doc("Replications (run numbers 0..runs-1); `run` does one (--run), `sweep` all of them.")),
      topology: TopologySchema,
      workload: WorkloadSchema.prefault({}),
      policies: z.array(policySchema(registry)).min(1).meta(doc("Policies compared on identical traffic.")),
      failures: z.array(FailureSchema).default([]).meta(doc("Link failures and repairs, in any order.")),
      intents: INTENT_MESH_SCHEMA.extend({ registry: RegistrySchema.optional() })
        .meta(INTENT_MESH_SCHEMA.meta() ?? {})
        .optional(),
      attacks: z
        .array(AttackSchema)
        .default([])
        .meta(
          doc(
            "Attack workload of the sidecar mesh: connection attempts the sidecars' intrusion detector sees; a detection blocks the source through setFirewall (simulator).",
          ),
        ),
      metrics: MetricsSchema.prefault({}),
      control: ControlSchema.prefault({}),
      transport: TransportSchema.prefault({}),
      output: z
        .strictObject({
          dir: z.string().default("results").meta(doc("Results root, relative to the working directory.")),
        })
        .prefault({})
        .meta(doc("Where results go.")),
      limits: z
        .strictObject({
          maxFlows: z
            .int()
            .min(1)
            .default(2_000_000)
            .meta(doc("Refuse to run when the workload is expected to generate more flows than this.")),
        })
        .prefault({})
        .meta(doc("Guards against accidentally huge runs.")),
      sweep: SweepSchema.optional(),
      emulation: EmulationSchema.optional(),
    })
    .superRefine((c, ctx) => {
      const seen = new Map<string, number>();
      c.policies.forEach((p, i) => {
        const label = (p as { label?: string }).label ?? (p as { name: string }).name;
        const j = seen.get(label);
        if (j !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["policies", i, "label"],
            message: `policies[${j}] and policies[${i}] are both "${label}"; give one a distinct label`,
          });
        }
        seen.set(label, i);
      });
    })
    .meta({
      title: "topocast experiment",
      description: "An experiment config for `topocast run` and `topocast sweep`.",
    });
}

/** The experiment config with the built-in policies: what `topocast` validates and `npm run schema` exports. */
export const ExperimentSchema = experimentSchema(POLICY_REGISTRY);

/** A validated config with every default filled in (quantities still as strings). */
export type ExperimentConfig = Omit<z.output<typeof ExperimentSchema>, "policies"> & {
  policies: PolicyConfig[];
};
/** A validated `policies[]` entry (the schema's union by name, erased to what every entry has). */
export interface PolicyConfig {
  name: string;
  label?: string;
  params: Record<string, unknown>;
  predictor?: PredictorConfig;
}
