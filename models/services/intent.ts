/**
 * Intents: what a client asks of a service ("service X, latency below Y, bandwidth above Z", optionally secure
 * links only and a cost ceiling), and the same shape as a resource's promise (what it offers). Pure data and pure
 * functions; engine-neutral (the registry in both engines and, later, the intent-routing policy use them).
 *
 * Units: latency in integer nanoseconds (one way, end to end), bandwidth in bits/s, cost in currency units per GB
 * (1e9 bytes), as `Link.egressCostPerGB` in sim/substrate/topology.ts.
 *
 * Satisfaction. A requirement R is met by a resource's offer O over a path P (the network between client and
 * resource, when known) iff
 *   O.service = R.service,
 *   O.maxLatencyNs + P.latencyNs <= R.maxLatencyNs            (latencies add along the way),
 *   min(O.minBandwidthBps, P.bandwidthBps) >= R.minBandwidthBps (the bottleneck decides),
 *   (O.secure and P.secure) when R.secure                       (every hop must be secure),
 *   O.maxCostPerGB + P.costPerGB <= R.maxCostPerGB              (costs add per byte sent).
 * An absent bound in R is no constraint; an absent promise in O is the worst value (no latency bound = infinite
 * latency, no bandwidth floor = 0 bits/s, not secure, unbounded cost), so a resource never matches a bound it did
 * not promise. An absent path is the zero path (same node): discovery without a client position filters on the
 * resource's own promise only.
 */
import { parseDurationNs, parseRateBps, UnitError } from "../../sim/units.ts";
import { MalformedIntentError } from "./errors.ts";

/** A requirement (from a client) or a promise (from a resource) about one service. */
export interface Intent {
  /** Service name, e.g. `"video"`; non-empty, no spaces or commas. */
  readonly service: string;
  /** One-way latency bound, integer ns. */
  readonly maxLatencyNs?: number;
  /** Bandwidth floor, bits/s. */
  readonly minBandwidthBps?: number;
  /** Secure (encrypted/trusted) links only. */
  readonly secure?: boolean;
  /** Cost ceiling, currency units per GB. */
  readonly maxCostPerGB?: number;
}

/** What the network between a client and a resource adds, when known (from routing or forecasts). */
export interface PathEstimate {
  /** One-way latency, integer ns. */
  readonly latencyNs: number;
  /** Available bandwidth (the bottleneck), bits/s. */
  readonly bandwidthBps: number;
  /** Whether every link on the path is secure. */
  readonly secure: boolean;
  /** Egress cost summed over the path's links, per GB. */
  readonly costPerGB: number;
}

/** The zero path: a client on the resource's own node. */
export const LOCAL_PATH: PathEstimate = Object.freeze({
  latencyNs: 0,
  bandwidthBps: Number.POSITIVE_INFINITY,
  secure: true,
  costPerGB: 0,
});

/** Why an offer does not meet a requirement. */
export type Mismatch = "service" | "latency" | "bandwidth" | "security" | "cost";

/** The outcome of {@link matchIntent}: met or not, the reasons, and the predicted end-to-end quantities. */
export interface IntentMatch {
  readonly ok: boolean;
  /** Every unmet term, in the order service, latency, bandwidth, security, cost (empty when ok). */
  readonly mismatches: readonly Mismatch[];
  /** Offer latency + path latency, ns (Infinity when the offer promised none). */
  readonly latencyNs: number;
  /** min(offer bandwidth, path bandwidth), bits/s (0 when the offer promised none). */
  readonly bandwidthBps: number;
  readonly secure: boolean;
  /** Offer cost + path cost, per GB (Infinity when the offer promised none). */
  readonly costPerGB: number;
}

/** Whether `offer` (a resource's promise) over `path` meets `required`; pure, see the module's doc. */
export function matchIntent(required: Intent, offer: Intent, path: PathEstimate = LOCAL_PATH): IntentMatch {
  const latencyNs = (offer.maxLatencyNs ?? Number.POSITIVE_INFINITY) + path.latencyNs;
  const bandwidthBps = Math.min(offer.minBandwidthBps ?? 0, path.bandwidthBps);
  const secure = offer.secure === true && path.secure;
  const costPerGB = (offer.maxCostPerGB ?? Number.POSITIVE_INFINITY) + path.costPerGB;
  const mismatches: Mismatch[] = [];
  if (offer.service !== required.service) mismatches.push("service");
  if (required.maxLatencyNs !== undefined && !(latencyNs <= required.maxLatencyNs))
    mismatches.push("latency");
  if (required.minBandwidthBps !== undefined && !(bandwidthBps >= required.minBandwidthBps))
    mismatches.push("bandwidth");
  if (required.secure === true && !secure) mismatches.push("security");
  if (required.maxCostPerGB !== undefined && !(costPerGB <= required.maxCostPerGB)) mismatches.push("cost");
  return { ok: mismatches.length === 0, mismatches, latencyNs, bandwidthBps, secure, costPerGB };
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

function bad(where: string, field: string, value: unknown, allowed: string): MalformedIntentError {
  return new MalformedIntentError(`${where}: ${field}: expected ${allowed}, got ${JSON.stringify(value)}`);
}

function checkService(where: string, v: unknown): string {
  if (typeof v !== "string" || !SERVICE_NAME.test(v))
    throw bad(where, "service", v, "a service name of letters, digits and . _ : / - (not empty)");
  return v;
}

function quantity(where: string, field: string, v: unknown, parse: (x: string | number) => number): number {
  if (typeof v !== "string" && typeof v !== "number") throw bad(where, field, v, "a number or a unit string");
  try {
    return parse(v);
  } catch (e) {
    if (e instanceof UnitError) throw bad(where, field, v, e.expected);
    throw e;
  }
}

const FIELDS = ["service", "maxLatencyNs", "minBandwidthBps", "secure", "maxCostPerGB"] as const;

/**
 * Validates an intent given as data (a parsed JSON or YAML object). Quantities may be numbers in the base units
 * (ns, bits/s) or unit strings (`"20ms"`, `"100Mbps"`). `where` names the source for messages
 * (`"intents[2]"`, a file path). Throws {@link MalformedIntentError} for unknown fields, a missing or bad service
 * name, a negative or non-finite bound, a non-boolean `secure`.
 */
export function validateIntent(input: unknown, where = "intent"): Intent {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new MalformedIntentError(
      `${where}: expected an object with a "service", got ${JSON.stringify(input)}`,
    );
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o).sort()) {
    if (!(FIELDS as readonly string[]).includes(k))
      throw new MalformedIntentError(`${where}: unknown field "${k}"; allowed: ${FIELDS.join(", ")}`);
  }
  const out: { -readonly [K in keyof Intent]: Intent[K] } = { service: checkService(where, o.service) };
  if (o.maxLatencyNs !== undefined)
    out.maxLatencyNs = quantity(where, "maxLatencyNs", o.maxLatencyNs, parseDurationNs);
  if (o.minBandwidthBps !== undefined)
    out.minBandwidthBps = quantity(where, "minBandwidthBps", o.minBandwidthBps, parseRateBps);
  if (o.secure !== undefined) {
    if (typeof o.secure !== "boolean") throw bad(where, "secure", o.secure, "true or false");
    out.secure = o.secure;
  }
  if (o.maxCostPerGB !== undefined) {
    const c = o.maxCostPerGB;
    if (typeof c !== "number" || !Number.isFinite(c) || c < 0)
      throw bad(where, "maxCostPerGB", c, "a finite number >= 0 (currency units per GB)");
    out.maxCostPerGB = c;
  }
  return out;
}

const TERM = /^(service|latency|bandwidth|cost)\s*(=|<=|<|>=|>)\s*(.+)$/;

function parseTerm(where: string, term: string, out: Record<string, unknown>): void {
  if (term === "secure") {
    out.secure = true;
    return;
  }
  const m = TERM.exec(term);
  if (!m)
    throw bad(where, "term", term, "service=NAME, latency<DURATION, bandwidth>RATE, cost<NUMBER or secure");
  const [, name, op, value] = m as unknown as [string, string, string, string];
  const want = { service: ["="], latency: ["<", "<="], bandwidth: [">", ">="], cost: ["<", "<="] }[name]!;
  if (!want.includes(op)) throw bad(where, name, `${name}${op}`, `${name} with ${want.join(" or ")}`);
  const field = {
    service: "service",
    latency: "maxLatencyNs",
    bandwidth: "minBandwidthBps",
    cost: "maxCostPerGB",
  }[name]!;
  if (name === "cost" && !Number.isFinite(Number(value)))
    throw bad(where, "maxCostPerGB", value, "a finite number >= 0 (currency units per GB)");
  out[field] = name === "cost" ? Number(value) : value.trim();
}

/**
 * Parses the text form, terms separated by commas or spaces:
 * `service=video, latency < 20ms, bandwidth > 100Mbps, secure, cost < 0.05`. Bounds are inclusive (`<` reads as "at
 * most": simulated quantities are integers and exact ties are rare). Throws {@link MalformedIntentError}.
 */
export function parseIntent(text: string, where = "intent"): Intent {
  const terms = text
    .replace(/\s*(<=|>=|<|>|=)\s*/g, "$1")
    .split(/[,\s]+/)
    .map((t) => t.trim())
    .filter((t) => t !== "");
  const out: Record<string, unknown> = {};
  for (const t of terms) parseTerm(where, t, out);
  if (out.service === undefined) throw bad(where, "service", text, 'a "service=NAME" term');
  return validateIntent(out, where);
}

/** The text form of an intent (inverse of {@link parseIntent} up to formatting). */
export function formatIntent(i: Intent): string {
  const parts = [`service=${i.service}`];
  if (i.maxLatencyNs !== undefined) parts.push(`latency<=${i.maxLatencyNs}ns`);
  if (i.minBandwidthBps !== undefined) parts.push(`bandwidth>=${i.minBandwidthBps}bps`);
  if (i.secure) parts.push("secure");
  if (i.maxCostPerGB !== undefined) parts.push(`cost<=${i.maxCostPerGB}`);
  return parts.join(", ");
}
