/**
 * Which ControlPlane verbs and options the emulator can carry out on this machine, decided before a run starts (a
 * verb an engine cannot do fails the config check, never mid-run):
 *
 * - `mirror` needs the kernel's VXLAN, u32 and mirred and the `nft` tool; `setFirewall` needs `nft`;
 *   `setQos` needs htb on the links; a `secure: true` virtual link (a mutual-TLS tunnel between sidecars,
 *   emulate/sidecar/secure-link.ts) needs nftables (its NAT interception) on top of the virtual link's VXLAN.
 *   Without them a control-loop policy would meet UnsupportedInEmulationError on those calls: listed as not
 *   emulated (the config is refused unless `emulation.allowDegrade`). `secure` counts when a policy's params hold
 *   `secure: true` anywhere.
 *
 * {@link verbUnavailable} is the same check for one verb at call time (the control plane refuses with it when the
 * run's recorded capabilities lack what the verb needs).
 */
import type { EnginePolicy } from "../sim/engine/types.ts";
import type { Capabilities } from "./capability-types.ts";

/** A verb, or an option of one, that needs more of the machine than a substrate does. */
export type ExtraVerb = "mirror" | "setFirewall" | "secureVirtualLink";

/** Why `verb` cannot run on a machine with capabilities `c`, or null when it can. */
export function verbUnavailable(verb: ExtraVerb, c: Capabilities): string | null {
  const missing: string[] = [];
  const kernel =
    verb === "mirror"
      ? (["vxlan", "u32", "mirred"] as const)
      : verb === "secureVirtualLink"
        ? (["vxlan"] as const)
        : [];
  for (const f of kernel) if (!c.features[f]) missing.push(`kernel feature ${f}`);
  if (c.tools.nft === null) missing.push("the nft tool (Debian package nftables)");
  else if (!c.features.nftables)
    missing.push(`nftables in namespaces (${c.missing.nftables ?? "probe failed"})`);
  return missing.length > 0 ? `needs ${missing.join(", ")}` : null;
}

/** Whether a policy's parameters hold `secure: true` anywhere. */
function asksSecure(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some(asksSecure);
  return Object.entries(value as Record<string, unknown>).some(([k, v]) =>
    k === "secure" && v === true ? true : asksSecure(v),
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
  const secure = policies.some((p) => p.controller && asksSecure(p.params))
    ? verbUnavailable("secureVirtualLink", c)
    : null;
  if (secure) out.push(`createVirtualLink secure: ${secure}; a policy's secure virtual links would fail`);
  return out;
}
