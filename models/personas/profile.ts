/**
 * The persona document: what one application's traffic looks like (its fingerprint, learned over a window of a
 * run) and the network configuration it wants (its desired config), with where it was learned (provenance). One
 * document per application and version; the repository (experiments/personas/repository.ts) stores the versions,
 * the persona policy applies the desired config through the ControlPlane. The JSON Schema of this document is
 * published as experiments/persona.schema.json (`npm run schema`).
 *
 * Versioning: `schemaVersion` is the document format (this module reads {@link PERSONA_SCHEMA_VERSION} only; an
 * older or newer document is stale and refused with a clear error), `version` counts an application's learned
 * personas, 1, 2, ... (the repository assigns it when it stores a document).
 *
 * Units: rates in bits/s, sizes in bytes, times in integer ns of simulated time (the run's clock).
 *
 * Fingerprint definitions (models/personas/learn.ts computes them):
 * - `bandwidth`: the application's bits per bin of `burstiness.binNs` over the window, as a rate: `meanBps` the
 *   mean over all bins of the window (idle bins count), `p95Bps` the 95th percentile (nearest rank), `peakBps` the
 *   maximum.
 * - `burstiness`: `peakToMean` = peakBps / meanBps (1 for perfectly steady traffic; 0 when there is none), and
 *   `dispersion` = the index of dispersion (variance / mean) of exchange arrivals (request flows) per bin: 1 for
 *   Poisson arrivals,
 *   above 1 for bursty ones, below 1 for paced ones (Cox & Lewis 1966, the "index of dispersion for counts").
 * - `latencySensitivity`: `share` = the fraction of the application's request/response exchanges that are small,
 *   an exchange being small when its request flow and its response flow are both at most `smallBytes` (bytes;
 *   10 kB by default: a few packets, whose completion time is dominated by round trips, not by rate).
 * - `timeOfDay`: 24 shares of the application's bytes by hour of day of the flow's start (hour 0 = midnight of
 *   the run's clock plus the learner's origin); all zeros when it sent nothing.
 */
import * as z from "zod";

/** The document format this code reads and writes. */
export const PERSONA_SCHEMA_VERSION = 1;

/** The transport protocols a persona knows. */
export const PROTOCOLS = ["tcp", "udp"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Overlay topologies among an application's instance nodes, realised as virtual links. */
export const OVERLAY_TOPOLOGIES = ["star", "mesh", "tree"] as const;
/** What a desired config optimises routes for. */
export const ROUTING_PREFERENCES = ["latency", "bandwidth"] as const;
/** Events the persona policy raises alerts on. */
export const ALERTS = [
  "denied-flow",
  "new-peer",
  "new-port",
  "bandwidth-over-ceiling",
  "slo-violation",
] as const;
/** Engines a persona can be learned in (sim/engine/records.ts EngineName). */
export const LEARNING_ENGINES = ["sim", "emulate"] as const;

const d = (description: string) => ({ description });
const rate = (what: string) =>
  z
    .number()
    .min(0)
    .meta(d(`${what}, bits/s.`));
const share = (what: string) => z.number().min(0).max(1).meta(d(what));
const port = z.int().min(1).max(65535).meta(d("A TCP or UDP port."));
const name = (what: string) => z.string().min(1).meta(d(what));

const PeerSchema = z
  .strictObject({
    app: name('The peer application ("client": external clients).'),
    critical: z
      .boolean()
      .meta(d("A declared dependency of the application (its database, an external API).")),
    ports: z.array(port).meta(d("Server ports of the exchanges with this peer, sorted.")),
    bytes: z.number().min(0).meta(d("Bytes exchanged with the peer in the window, both directions.")),
    flows: z.int().min(0).meta(d("Flows exchanged with the peer in the window, both directions.")),
  })
  .meta(d("An application this one exchanged traffic with."));

const FingerprintSchema = z
  .strictObject({
    protocols: z.array(z.enum(PROTOCOLS)).meta(d("Transport protocols used, sorted.")),
    ports: z.array(port).meta(d("Server ports used (its own and its peers'), sorted.")),
    peers: z.array(PeerSchema).meta(d("Peers, sorted by name.")),
    bandwidth: z
      .strictObject({
        meanBps: rate("Mean rate over the window's bins"),
        p95Bps: rate("95th percentile of the per-bin rate"),
        peakBps: rate("Largest per-bin rate"),
      })
      .meta(d("The application's rate over the window (both directions of its exchanges).")),
    burstiness: z
      .strictObject({
        binNs: z.int().min(1).meta(d("Bin width, ns.")),
        peakToMean: z.number().min(0).meta(d("peakBps / meanBps (1: steady; 0: no traffic).")),
        dispersion: z
          .number()
          .min(0)
          .meta(
            d("Index of dispersion of exchange arrivals (requests) per bin, variance / mean (1: Poisson)."),
          ),
      })
      .meta(d("How bursty the traffic is.")),
    latencySensitivity: z
      .strictObject({
        smallBytes: z.int().min(1).meta(d("Largest request and response of a small exchange, bytes.")),
        share: share("Fraction of request/response exchanges that are small."),
        exchanges: z.int().min(0).meta(d("Request/response exchanges seen.")),
      })
      .meta(d("Share of small request/response exchanges.")),
    timeOfDay: z
      .array(share("Share of the bytes in this hour."))
      .length(24)
      .meta(d("Per-hour share of bytes, hour 0..23 of the flow starts.")),
  })
  .meta(d("What the application's traffic looked like over the learning window."));

const AllowSchema = z
  .strictObject({
    peer: z
      .strictObject({
        kind: z.enum(["app", "node"]).meta(d("Whether `name` is an application or a topology node.")),
        name: name("Application or node id."),
      })
      .meta(d("Who may exchange traffic with the application.")),
    port: port.optional(),
    protocol: z.enum(PROTOCOLS).optional(),
  })
  .meta(d("One allowed peer (absent port or protocol: any)."));

const DesiredSchema = z
  .strictObject({
    topology: z
      .enum(OVERLAY_TOPOLOGIES)
      .meta(d("Overlay among the application's instance nodes, realised as virtual links.")),
    qos: z
      .strictObject({
        priority: z.int().min(0).max(7).meta(d("Priority class, 0 (most urgent) .. 7, htb's meaning.")),
        rateBps: rate("Guaranteed rate"),
        ceilBps: rate("Ceiling"),
      })
      .refine((q) => q.ceilBps >= q.rateBps, { message: "ceilBps must be >= rateBps", path: ["ceilBps"] })
      .meta(d("The QoS class of the application's pairs (ControlPlane setQos).")),
    security: z
      .strictObject({
        allow: z.array(AllowSchema).meta(d("Allowed peers, sorted.")),
        defaultDeny: z.literal(true).meta(d("Everything not allowed is denied.")),
        alertOn: z.array(z.enum(ALERTS)).meta(d("Events to raise alerts on.")),
      })
      .meta(d("Firewall allow-list (ControlPlane setFirewall).")),
    routing: z.enum(ROUTING_PREFERENCES).meta(d("Route by least latency or by most available bandwidth.")),
  })
  .meta(d("The network configuration the application wants."));

const ProvenanceSchema = z
  .strictObject({
    engine: z.enum(LEARNING_ENGINES).meta(d("The engine of the learning run.")),
    run: name("The learning run: its results directory, run id or config path."),
    windowStartNs: z.int().min(0).meta(d("Start of the learning window, ns of simulated time.")),
    windowEndNs: z.int().min(0).meta(d("End of the learning window (exclusive), ns.")),
    learnedAt: name(
      "When it was learned: from the config (run id, seed), never the wall clock in sim paths.",
    ),
  })
  .refine((p) => p.windowEndNs > p.windowStartNs, {
    message: "windowEndNs must be > windowStartNs",
    path: ["windowEndNs"],
  })
  .meta(d("Where the persona was learned."));

/** The persona document (see the module doc). */
export const PersonaSchema = z
  .strictObject({
    schemaVersion: z.literal(PERSONA_SCHEMA_VERSION).meta(d("Document format; this topocast reads 1.")),
    version: z
      .int()
      .min(1)
      .meta(d("The application's persona version, 1, 2, ... (the repository assigns it).")),
    application: z
      .strictObject({
        name: name("Application name (workload.applications.apps[].name)."),
        versionHash: name("The application's version (apps[].version, or a hash of its spec)."),
      })
      .meta(d("Which application, at which version.")),
    fingerprint: FingerprintSchema,
    desired: DesiredSchema,
    provenance: ProvenanceSchema,
  })
  .meta({ id: "persona", description: "A learned network persona of one application (topocast)." });

export type Persona = z.infer<typeof PersonaSchema>;
export type Fingerprint = Persona["fingerprint"];
export type DesiredConfig = Persona["desired"];
export type PeerStats = Fingerprint["peers"][number];
export type AllowRule = DesiredConfig["security"]["allow"][number];
export type Provenance = Persona["provenance"];
export type OverlayTopology = (typeof OVERLAY_TOPOLOGIES)[number];
export type RoutingPreference = (typeof ROUTING_PREFERENCES)[number];
export type Alert = (typeof ALERTS)[number];

/** A persona document that is malformed or stale; the message names the source, field path, value and what is allowed. */
export class PersonaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PersonaError";
  }
}

/**
 * Reads a persona document.
 * @param json the document: JSON text or an already parsed value.
 * @param source where it came from, for messages (a file name, `"repository:game@3"`).
 * @returns the typed document.
 * @throws PersonaError: not JSON; a stale `schemaVersion` (names the one this code reads); or the first bad
 *   field, e.g. `game.json: desired.topology: got "ring"; allowed: "star", "mesh", "tree"`.
 */
export function parsePersona(json: unknown, source: string): Persona {
  let value = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new PersonaError(`${source}: not JSON: ${(e as Error).message}`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PersonaError(`${source}: expected a persona object, got ${describe(value)}`);
  }
  const version = (value as Record<string, unknown>).schemaVersion;
  if (version !== PERSONA_SCHEMA_VERSION) {
    throw new PersonaError(
      version === undefined
        ? `${source}: schemaVersion: missing; this topocast reads schemaVersion ${PERSONA_SCHEMA_VERSION}`
        : `${source}: schemaVersion: got ${describe(version)}, a stale or foreign document; this topocast reads schemaVersion ${PERSONA_SCHEMA_VERSION} (learn the persona again)`,
    );
  }
  const parsed = PersonaSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new PersonaError(`${source}: ${issueText(issue, value)}`);
}

/** `a.b[2].c: got <value>; <what is allowed>` for one zod issue. */
function issueText(issue: z.core.$ZodIssue, root: unknown): string {
  const path = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return `${path || "(document)"}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  }
  const got = describe(valueAt(root, issue.path));
  let allowed = issue.message.replace(/^(Too big|Too small|Invalid input): /, "");
  if (issue.code === "invalid_value")
    allowed = `allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  return `${path || "(document)"}: got ${got}; ${allowed}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
