/**
 * Zero-trust authorization of the sidecar mesh: which identities may open a tunnel to which, as data, checked in one
 * place ({@link authorize}) on every connection (Linkerd's and Istio's authorization policies keep the same shape:
 * a declarative allow list over workload identities, default deny).
 *
 * An {@link AllowPolicy} is a list of rules `{from, to}`; each side is a SPIFFE ID (`spiffe://topocast/web/0`) or
 * every instance of an application (`spiffe://topocast/web/*`). A connection from `a` to the sidecar `b` is allowed
 * iff some rule matches both; nothing else is (no rule, no tunnel). A relay sidecar is a destination like any other:
 * a client must be allowed to the relay, and again, end to end, to the final destination.
 */
import { EmulationError } from "../errors.ts";
import { parseSpiffeId } from "./identity.ts";

export interface AllowRule {
  from: string;
  to: string;
}

export interface AllowPolicy {
  allow: readonly AllowRule[];
}

export type Authorization = { allowed: true; rule: number } | { allowed: false };

const WILDCARD = /^spiffe:\/\/topocast\/[A-Za-z0-9._-]{1,40}\/\*$/;

function checkPattern(p: unknown, where: string): string {
  if (typeof p === "string" && (parseSpiffeId(p) !== undefined || WILDCARD.test(p))) return p;
  throw new EmulationError(
    `${where}: expected a SPIFFE ID spiffe://topocast/<app>/<instance> or spiffe://topocast/<app>/*, got ${JSON.stringify(p)}`,
  );
}

/** Validates a policy (e.g. read from a config); errors name the rule's field path and the bad value. */
export function checkPolicy(policy: unknown, where = "policy"): AllowPolicy {
  const allow = (policy as { allow?: unknown } | null)?.allow;
  if (!Array.isArray(allow)) throw new EmulationError(`${where}.allow: expected a list of {from, to} rules`);
  return {
    allow: allow.map((r: { from?: unknown; to?: unknown } | null, i) => ({
      from: checkPattern(r?.from, `${where}.allow[${i}].from`),
      to: checkPattern(r?.to, `${where}.allow[${i}].to`),
    })),
  };
}

function matches(pattern: string, id: string): boolean {
  return pattern.endsWith("/*")
    ? id.startsWith(pattern.slice(0, -1)) && parseSpiffeId(id) !== undefined
    : pattern === id;
}

/** Whether `from` may connect to `to` under `policy`, and the first rule that allows it. */
export function authorize(policy: AllowPolicy, from: string, to: string): Authorization {
  const rule = policy.allow.findIndex((r) => matches(r.from, from) && matches(r.to, to));
  return rule >= 0 ? { allowed: true, rule } : { allowed: false };
}
