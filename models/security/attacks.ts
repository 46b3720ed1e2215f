/**
 * An attack workload for the sidecar mesh (issue 16), engine-neutral: the connection attempts of an attacker
 * without a valid certificate and of a port scanner, as the {@link ConnectionEvent}s the sidecars' intrusion
 * detector (models/security/ids.ts) sees, drawn from a named seeded stream.
 *
 * - **unauthenticated** (the attacker without a certificate): from `node`, attempts to the sidecar TLS port
 *   ({@link SIDECAR_PORT}) of a destination drawn uniformly from the other nodes (or `targets`), each refused by
 *   authentication (`refused-auth`), as the emulator's attacker in test/emulate/sidecar-ids.test.ts: a TLS client
 *   without a certificate.
 * - **scan** (a port scanner): from `node`, first contacts of (host, port) drawn uniformly from the other nodes (or
 *   `targets`) and the ports 1-1023 other than the sidecar's; a mesh carries every application through the sidecar's
 *   one TLS port, so those ports are unused and watched by tripwires (PortSentry's idea, emulate/sidecar/ids.ts):
 *   each touch is a `tripwire` event.
 *
 * Attempts arrive as a Poisson process of `ratePerS` from `startNs` for `durationNs`; every draw (gaps, hosts,
 * ports) comes from the stream `security/attack/<index>` of the run's streams, so a (seed, run) gives the same
 * attempts to every policy and engine. The attempts carry no data (a refused handshake); they are events for the
 * detector, not flows.
 */
import type { RandomStream } from "../../sim/kernel/rng.ts";
import type { ConnectionEvent } from "./ids.ts";

/** The sidecar's TLS port the attacker tries (the port every application's traffic uses in the mesh). */
export const SIDECAR_PORT = 15443;

export type AttackKind = "unauthenticated" | "scan";

/** One attack of the workload (the config's `attacks` entry, times resolved to ns). */
export interface AttackSpec {
  kind: AttackKind;
  /** Source node id. */
  node: string;
  /** Destinations to choose from (node ids); absent or empty: every other node. */
  targets?: readonly string[];
  /** First possible attempt, ns (>= 0). */
  startNs: number;
  /** How long attempts keep coming, ns (> 0). */
  durationNs: number;
  /** Mean attempts per second (> 0). */
  ratePerS: number;
}

/** The named stream of attack `index` (pass it to `RandomStreams.stream`). */
export const attackStreamName = (index: number): string => `security/attack/${index}`;

/**
 * The connection attempts of one attack, in time order (see the module doc). `nodes`: every node id of the
 * topology. @throws RangeError for a rate, start or duration out of range, or no destination to choose.
 */
export function attackEvents(
  spec: AttackSpec,
  nodes: readonly string[],
  rng: RandomStream,
): ConnectionEvent[] {
  if (!(spec.ratePerS > 0) || !Number.isFinite(spec.ratePerS))
    throw new RangeError(`attack from ${spec.node}: rate must be > 0 per s, got ${spec.ratePerS}`);
  if (!(spec.startNs >= 0) || !(spec.durationNs > 0))
    throw new RangeError(
      `attack from ${spec.node}: start must be >= 0 and duration > 0 ns, got ${spec.startNs} and ${spec.durationNs}`,
    );
  const hosts = (spec.targets?.length ? spec.targets : nodes).filter((n) => n !== spec.node);
  if (hosts.length === 0) throw new RangeError(`attack from ${spec.node}: no destination other than itself`);
  const out: ConnectionEvent[] = [];
  const endNs = spec.startNs + spec.durationNs;
  const seen = new Set<string>();
  let t = spec.startNs;
  for (;;) {
    t += Math.max(1, Math.round(rng.exponential(1e9 / spec.ratePerS)));
    if (t >= endNs) break;
    const dst = hosts[rng.int(hosts.length)]!;
    if (spec.kind === "unauthenticated") {
      out.push({ timeNs: t, src: spec.node, dst, port: SIDECAR_PORT, outcome: "refused-auth" });
      continue;
    }
    // A scanner contacts each (host, port) once: redraw the port until it is new for the host (1,022 per host).
    let port = 1 + rng.int(1023);
    for (let k = 0; (port === SIDECAR_PORT || seen.has(`${dst}:${port}`)) && k < 64; k++)
      port = 1 + rng.int(1023);
    seen.add(`${dst}:${port}`);
    out.push({ timeNs: t, src: spec.node, dst, port, outcome: "tripwire" });
  }
  return out;
}
