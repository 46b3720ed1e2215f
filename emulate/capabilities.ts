/**
 * What this kernel and machine can emulate, probed once per run by trying each feature in a scratch namespace
 * named with the run prefix (`tc<run>-probe`), which is always deleted afterwards. The probe registers its run id
 * in the run-state directory (run-state.ts, status "probing") before it creates the namespace and unregisters
 * after deleting it, so a probe whose process is killed leaves a run that plain `cleanup` removes. Nothing is assumed from the
 * kernel version: a feature is present when the command that needs it succeeds. The result is plain data, meant
 * for the run's manifest; {@link chooseMechanisms} turns it into the substrate's choices.
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { release } from "node:os";
import { delimiter, join } from "node:path";
import {
  type Capabilities,
  FEATURES,
  type Feature,
  type Mechanisms,
  TOOLS,
  type ToolName,
} from "./capability-types.ts";
import { type Cmd, ipArgv, netnsAdd, netnsDel, netnsExecArgv, tcArgv } from "./commands.ts";
import { newRunId, runPrefix } from "./names.ts";
import { createState, creator, removeState, runDir } from "./run-state.ts";
import type { Runner } from "./runner.ts";

export type { Capabilities, Feature, Mechanisms, ToolName } from "./capability-types.ts";
export { FEATURES, TOOLS } from "./capability-types.ts";

/** Finds an executable on PATH (no shell, no `which`). */
export async function findTool(name: string, path = process.env.PATH ?? ""): Promise<string | null> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

/** C compilers, in order of preference: the system's default `cc`, then GCC, then Clang. */
export const C_COMPILERS = ["cc", "gcc", "clang"] as const;

/** The first of {@link C_COMPILERS} on PATH (absolute path), or null. */
export async function findCompiler(path = process.env.PATH ?? ""): Promise<string | null> {
  for (const name of C_COMPILERS) {
    const p = await findTool(name, path);
    if (p) return p;
  }
  return null;
}

/**
 * The probe commands for each feature, run in order in namespace `ns` (after `lo`, veth `p0`/`p1` and an htb
 * root on `p0` exist, see {@link probe}). A feature is present when all its commands succeed.
 */
export function probeCommands(
  ns: string,
  names: { p0: string; p1: string },
): Record<Exclude<Feature, "netns" | "veth">, string[][]> {
  const { p0, p1 } = names;
  const ip = (c: Cmd) => ipArgv(c, ns);
  const tc = (c: Cmd) => tcArgv(c, ns);
  const qdisc = (kind: string[]) => [
    tc(["qdisc", "replace", "dev", p1, "root", ...kind]),
    tc(["qdisc", "del", "dev", p1, "root"]),
  ];
  return {
    bridge: [ip(["link", "add", "name", "pbr", "type", "bridge"])],
    vxlan: [
      ip(["link", "add", "name", "pvx", "type", "vxlan", "id", "7", "local", "10.0.0.1", "dstport", "4789"]),
    ],
    tun: [ip(["tuntap", "add", "dev", "ptun", "mode", "tun"])],
    htb: [
      tc(["qdisc", "replace", "dev", p0, "root", "handle", "1:", "htb", "default", "1"]),
      tc(["class", "add", "dev", p0, "parent", "1:", "classid", "1:1", "htb", "rate", "1000000bit"]),
    ],
    tbf: qdisc(["tbf", "rate", "1000000bit", "burst", "10000", "latency", "10ms"]),
    netem: qdisc(["netem", "delay", "1ms"]),
    fq_codel: qdisc(["fq_codel"]),
    ingress: [tc(["qdisc", "add", "dev", p1, "ingress"])],
    u32: [
      tc([
        "filter",
        "add",
        "dev",
        p0,
        "parent",
        "1:",
        "protocol",
        "ip",
        "prio",
        "1",
        "u32",
        "match",
        "ip",
        "dst",
        "10.0.0.2/32",
        "flowid",
        "1:1",
      ]),
    ],
    bpf: [
      tc([
        "filter",
        "add",
        "dev",
        p0,
        "parent",
        "1:",
        "protocol",
        "ip",
        "prio",
        "2",
        "bpf",
        "bytecode",
        "1,6 0 0 4294967295,",
        "flowid",
        "1:1",
      ]),
    ],
    mirred: [
      tc([
        "filter",
        "add",
        "dev",
        p1,
        "parent",
        "ffff:",
        "protocol",
        "all",
        "prio",
        "3",
        "u32",
        "match",
        "u32",
        "0",
        "0",
        "action",
        "mirred",
        "egress",
        "mirror",
        "dev",
        p0,
      ]),
    ],
    gre: [ip(["link", "add", "name", "pgre", "type", "gre", "local", "10.0.0.1", "remote", "10.0.0.2"])],
    ipip: [ip(["link", "add", "name", "pipip", "type", "ipip", "local", "10.0.0.1", "remote", "10.0.0.2"])],
    wireguard: [ip(["link", "add", "name", "pwg", "type", "wireguard"])],
    ipsec: [
      ip([
        "xfrm",
        "state",
        "add",
        "src",
        "10.0.0.1",
        "dst",
        "10.0.0.2",
        "proto",
        "esp",
        "spi",
        "0x100",
        "mode",
        "tunnel",
        "aead",
        "rfc4106(gcm(aes))",
        "0x0102030405060708091011121314151617181920",
        "128",
      ]),
    ],
    // nftables in a namespace (setFirewall, mirror): the `nft` tool (Debian package nftables) and nf_tables.
    nftables: [netnsExecArgv(ns, ["nft", "add", "table", "inet", "tcprobe"])],
  };
}

/**
 * Probes every {@link Feature} in a scratch namespace `<prefix>-probe` (a fresh run id when none is given) and
 * deletes it in all cases. Needs root for the kernel features; without root every kernel feature reads false.
 * The run id is registered in `dir` (default {@link runDir}) for the probe's duration; throws EmulationError when
 * it is already in use.
 */
export async function probe(
  runner: Runner,
  runId = newRunId(),
  opts: { dir?: string } = {},
): Promise<Capabilities> {
  const tools = Object.fromEntries(
    await Promise.all(TOOLS.map(async (t) => [t, await findTool(t)])),
  ) as Record<ToolName, string | null>;
  const isRoot = process.getuid?.() === 0;
  const features = Object.fromEntries(FEATURES.map((f) => [f, false])) as Record<Feature, boolean>;
  const missing: Partial<Record<Feature, string>> = {};
  const probedAt = new Date().toISOString();
  const result = { runId, kernel: release(), isRoot, features, tools, missing, probedAt };
  const ns = `${runPrefix(runId)}-probe`;
  const p0 = `${runPrefix(runId)}-p0`;
  const p1 = `${runPrefix(runId)}-p1`;
  const attempt = async (f: Feature, cmds: string[][]): Promise<boolean> => {
    for (const argv of cmds) {
      const r = await runner.run(argv, { check: false });
      if (r.code !== 0) {
        missing[f] = r.stderr.trim() || `exit code ${r.code}`;
        return false;
      }
    }
    features[f] = true;
    return true;
  };
  if (!isRoot || !tools.ip) {
    for (const f of FEATURES) missing[f] = isRoot ? "ip not found" : "needs root";
    return result;
  }
  const dir = opts.dir ?? runDir();
  createState({ ...creator(runId), status: "probing" }, dir);
  const unregister = () => removeState(runId, dir);
  let made = false;
  try {
    made = await attempt("netns", [ipArgv(netnsAdd(ns))]);
  } finally {
    if (!made) unregister();
  }
  return made ? probeInNamespace(runner, { ns, p0, p1 }, attempt, result, unregister) : result;
}

/**
 * The features probed inside the scratch namespace `ns` (which exists), then its deletion in all cases, and only
 * once it is gone `unregister` (a namespace that cannot be deleted keeps its run registered for `cleanup`).
 */
async function probeInNamespace(
  runner: Runner,
  names: { ns: string; p0: string; p1: string },
  attempt: (f: Feature, cmds: string[][]) => Promise<boolean>,
  result: Capabilities,
  unregister: () => void,
): Promise<Capabilities> {
  const { ns, p0, p1 } = names;
  try {
    await runner.run(ipArgv(["link", "set", "dev", "lo", "up"], ns));
    const veth = ["link", "add", "name", p0, "type", "veth", "peer", "name", p1];
    if (!(await attempt("veth", [ipArgv(veth, ns)]))) return result;
    const cmds = probeCommands(ns, { p0, p1 });
    for (const f of Object.keys(cmds) as (keyof typeof cmds)[]) await attempt(f, cmds[f]);
    return result;
  } finally {
    await runner.run(ipArgv(netnsDel(ns))); // throws (EmulationError) if the scratch namespace cannot go
    unregister();
  }
}

export function chooseMechanisms(c: Capabilities): Mechanisms {
  return {
    rate: c.features.htb ? "htb" : c.features.tbf ? "tbf" : "none",
    delay: c.features.netem ? "netem" : c.features.vxlan ? "wire" : "none",
  };
}
