/**
 * The capability probe's result as plain data (what the kernel and machine can emulate, for the run's manifest and
 * state file) and the mechanisms chosen from it. Types only, so the run state, the plan and the probe can share
 * them without importing each other (emulate/capabilities.ts probes; emulate/run-state.ts records).
 */
export const FEATURES = [
  "netns",
  "veth",
  "bridge",
  "vxlan",
  "tun",
  "htb",
  "tbf",
  "netem",
  "fq_codel",
  "ingress",
  "u32",
  "bpf",
  "mirred",
  "gre",
  "ipip",
  "wireguard",
  "ipsec",
  "nftables",
] as const;
export type Feature = (typeof FEATURES)[number];

export const TOOLS = ["ip", "tc", "bridge", "sysctl", "ping", "iperf3", "nft", "conntrack"] as const;
export type ToolName = (typeof TOOLS)[number];

export interface Capabilities {
  /** The run id of the probe's scratch namespace (`tc<runId>-probe`). */
  runId: string;
  kernel: string;
  isRoot: boolean;
  features: Record<Feature, boolean>;
  /** Absolute path of each tool on PATH, or null. */
  tools: Record<ToolName, string | null>;
  /** Why a feature is missing: the probe command's stderr. */
  missing: Partial<Record<Feature, string>>;
  probedAt: string;
}

/** Mechanisms chosen from capabilities (see substrate.ts for what each means). */
export interface Mechanisms {
  rate: "htb" | "tbf" | "none";
  delay: "netem" | "wire" | "none";
}
