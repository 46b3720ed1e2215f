/**
 * Argument checks shared by every engine's ControlPlane, so a bad argument fails the same way everywhere
 * (test/conformance/verbs.test.ts): {@link InvalidArgumentError} naming the verb, the field, the value and what is
 * allowed.
 */
import { InvalidArgumentError } from "./types.ts";
import {
  FIREWALL_PROTOCOLS,
  type FirewallRule,
  type QosMatch,
  type QosSpec,
  UNAUTHENTICATED,
} from "./verb-args.ts";

/**
 * Checks a QoS spec: priority a finite number (engines clamp it to 0..7), rateBps absent or a finite rate >= 0,
 * ceilBps absent or a rate > 0 and >= rateBps (bits/s).
 * @throws InvalidArgumentError for the first field that is not so.
 */
export function checkQosSpec(qos: QosSpec): void {
  const bad = (field: string, v: unknown, want: string) =>
    new InvalidArgumentError(`setQos: ${field} must be ${want}, got ${JSON.stringify(v)}`);
  if (!Number.isFinite(qos.priority)) throw bad("priority", qos.priority, "a number 0..7");
  const g = qos.rateBps ?? 0;
  if (!(g >= 0) || !Number.isFinite(g)) throw bad("rateBps", qos.rateBps, "a rate >= 0 bits/s");
  const ceil = qos.ceilBps ?? Number.POSITIVE_INFINITY;
  if (!(ceil > 0) || ceil < g) throw bad("ceilBps", qos.ceilBps, `a rate > 0 and >= rateBps (${g})`);
}

/**
 * Checks a QoS class's match: an object with `port` an integer 1..65535 and `protocol` absent or one of
 * {@link FIREWALL_PROTOCOLS}.
 * @throws InvalidArgumentError for the first field that is not so.
 */
export function checkQosMatch(match: QosMatch): void {
  const bad = (field: string, v: unknown, want: string) =>
    new InvalidArgumentError(`setQos: match${field} must be ${want}, got ${JSON.stringify(v)}`);
  if (typeof match !== "object" || match === null) throw bad("", match, "an object { port, protocol? }");
  const { port, protocol } = match;
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw bad(".port", port, "an integer 1..65535");
  if (protocol !== undefined && !(FIREWALL_PROTOCOLS as readonly string[]).includes(protocol))
    throw bad(".protocol", protocol, FIREWALL_PROTOCOLS.map((p) => `"${p}"`).join(" or "));
}

/**
 * Checks a firewall rule: action "allow" or "deny"; `application` absent or a non-empty string; `port` absent or an
 * integer 1..65535; `protocol` absent or one of {@link FIREWALL_PROTOCOLS}; `identity` absent, a SPIFFE ID
 * (`spiffe://...`) or {@link UNAUTHENTICATED}.
 * @throws InvalidArgumentError for the first field that is not so.
 */
export function checkFirewallRule(rule: FirewallRule): void {
  const bad = (field: string, v: unknown, want: string) =>
    new InvalidArgumentError(`setFirewall: ${field} must be ${want}, got ${JSON.stringify(v)}`);
  if (rule.action !== "allow" && rule.action !== "deny")
    throw bad("action", rule.action, '"allow" or "deny"');
  const { application, port, protocol } = rule;
  if (application !== undefined && (typeof application !== "string" || application === ""))
    throw bad("application", application, "a non-empty application name");
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw bad("port", port, "an integer 1..65535");
  if (protocol !== undefined && !(FIREWALL_PROTOCOLS as readonly string[]).includes(protocol))
    throw bad("protocol", protocol, FIREWALL_PROTOCOLS.map((p) => `"${p}"`).join(" or "));
  const { identity } = rule;
  if (
    identity !== undefined &&
    identity !== UNAUTHENTICATED &&
    !(typeof identity === "string" && /^spiffe:\/\/[^/]+\/.+/.test(identity))
  )
    throw bad("identity", identity, `a SPIFFE ID (spiffe://<trust domain>/<path>) or "${UNAUTHENTICATED}"`);
}
