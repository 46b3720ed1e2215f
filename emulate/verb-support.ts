/**
 * Which ControlPlane verbs and options the emulator can carry out on this machine, decided before a run starts (a
 * verb an engine cannot do fails the config check, never mid-run):
 *
 * - `secure: true` virtual links (authenticated, encrypted tunnels) are not emulated yet (they come with the
 *   sidecar mesh): a policy parameter `secure: true` anywhere in a policy's params is refused, naming the field;
 * - `mirror` needs the kernel's VXLAN, u32 and mirred and the `nft` tool; `setFirewall` needs `nft`;
 *   `setQos` needs htb on the links. Without them a control-loop policy would meet UnsupportedInEmulationError on
 *   those calls: listed as not emulated (the config is refused unless `emulation.allowDegrade`).
 *
 * {@link verbUnavailable} is the same check for one verb at call time (the control plane refuses with it when the
 * run's recorded capabilities lack what the verb needs).
 */
import type { EnginePolicy } from "../sim/engine/types.ts";
import type { Capabilities } from "./capability-types.ts";

/** A refusal: the config field path (under the config's root) and why. */
export interface VerbRefusal {
  path: (string | number)[];
  message: string;
}

/** Why `verb` cannot run on a machine with capabilities `c`, or null when it can. */
export function verbUnavailable(verb: "mirror" | "setFirewall", c: Capabilities): string | null {
  const missing: string[] = [];
  if (verb === "mirror")
    for (const f of ["vxlan", "u32", "mirred"] as const)
      if (!c.features[f]) missing.push(`kernel feature ${f}`);
  if (c.tools.nft === null) missing.push("the nft tool (Debian package nftables)");
  else if (!c.features.nftables)
    missing.push(`nftables in namespaces (${c.missing.nftables ?? "probe failed"})`);
  return missing.length > 0 ? `needs ${missing.join(", ")}` : null;
}

/** Paths (under `params`) of every `secure: true` in a policy's parameters. */
function securePaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => securePaths(v, [...at, i]));
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    k === "secure" && v === true ? [[...at, k]] : securePaths(v, [...at, k]),
  );
}

/** Options no emulation can carry out yet: refused whatever `emulation.allowDegrade` says. */
export function verbRefusals(policies: readonly EnginePolicy[]): VerbRefusal[] {
  return policies.flatMap((p, i) =>
    securePaths(p.params).map((sub) => ({
      path: ["policies", i, "params", ...sub],
      message: `policy ${p.label}: secure: true asks for secure virtual links (authenticated, encrypted tunnels), which the emulator does not build yet; run it with \`topocast run\` or set it to false`,
    })),
  );
}

/** Verbs control-loop policies may call that this machine cannot emulate, one sentence each (degradable). */
export function verbsNotEmulated(policies: readonly EnginePolicy[], c: Capabilities): string[] {
  if (!policies.some((p) => p.controller)) return [];
  const out: string[] = [];
  for (const verb of ["mirror", "setFirewall"] as const) {
    const why = verbUnavailable(verb, c);
    if (why) out.push(`${verb}: ${why}; a control-loop policy's ${verb} calls would fail`);
  }
  if (!c.features.htb)
    out.push("setQos: needs htb on the links; a control-loop policy's setQos calls would fail");
  return out;
}
