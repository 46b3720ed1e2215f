/**
 * Valid persona documents for tests: a latency-sensitive "game" application ({@link gamePersona}), and one whose
 * desired config a test states, with a neutral fingerprint ({@link personaWith}); and a deep-copy helper.
 */
import { PERSONA_SCHEMA_VERSION, type Persona } from "../../../models/personas/profile.ts";

/**
 * A persona of `name` asking for `desired`; its fingerprint (ports `ports`, nothing else learned) is not read by the
 * persona policy. `binNs`: the fingerprint's burstiness bin (a control interval).
 */
export function personaWith(
  name: string,
  ports: number[],
  desired: Persona["desired"],
  binNs = 100_000_000,
): Persona {
  return {
    schemaVersion: PERSONA_SCHEMA_VERSION,
    version: 1,
    application: { name, versionHash: "test" },
    fingerprint: {
      protocols: ["tcp"],
      ports,
      peers: [],
      bandwidth: { meanBps: 0, p95Bps: 0, peakBps: 0 },
      burstiness: { binNs, peakToMean: 1, dispersion: 1 },
      latencySensitivity: { smallBytes: 10_000, share: 0, exchanges: 0 },
      timeOfDay: Array.from({ length: 24 }, () => 0),
    },
    desired,
    provenance: { engine: "sim", run: "test", windowStartNs: 0, windowEndNs: 1, learnedAt: "test" },
  };
}

export function gamePersona(overrides: Partial<Persona> = {}): Persona {
  return {
    schemaVersion: 1,
    version: 1,
    application: { name: "game", versionHash: "v1.4.2" },
    fingerprint: {
      protocols: ["udp"],
      ports: [7777],
      peers: [
        { app: "client", critical: false, ports: [7777], bytes: 1_200_000, flows: 4000 },
        { app: "matchmaker", critical: true, ports: [9000], bytes: 40_000, flows: 100 },
      ],
      bandwidth: { meanBps: 96_000, p95Bps: 150_000, peakBps: 200_000 },
      burstiness: { binNs: 1_000_000_000, peakToMean: 2.08, dispersion: 1.1 },
      latencySensitivity: { smallBytes: 10_000, share: 0.98, exchanges: 2050 },
      timeOfDay: [...Array(23).fill(0), 1],
    },
    desired: {
      topology: "mesh",
      qos: { priority: 0, rateBps: 150_000, ceilBps: 1_000_000 },
      security: {
        allow: [
          { peer: { kind: "app", name: "client" }, port: 7777, protocol: "udp" },
          { peer: { kind: "app", name: "matchmaker" }, port: 9000, protocol: "tcp" },
        ],
        defaultDeny: true,
        alertOn: ["denied-flow", "new-peer"],
      },
      routing: "latency",
    },
    provenance: {
      engine: "sim",
      run: "experiments/configs/personas.yaml",
      windowStartNs: 0,
      windowEndNs: 86_400_000_000_000,
      learnedAt: "seed 1",
    },
    ...overrides,
  };
}

/** Marks a field to delete in {@link edited}. */
export const DELETE: unique symbol = Symbol("delete");

/** A JSON copy of `v` with the field at `path` set to `value` (or deleted), for malformed documents. */
export function edited(v: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy: unknown = JSON.parse(JSON.stringify(v));
  let at = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === DELETE) delete at[last];
  else at[last] = value;
  return copy;
}
