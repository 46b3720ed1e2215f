/**
 * The emulated links' counters: tx bytes and egress drops of every directed link's egress device (`ip -s -j link`
 * and the root qdisc's `tc -s -j qdisc` drops, per namespace), readings at their simulated-time instants with
 * linear interpolation between them, and UDP receive errors.
 */
import type { Topology } from "../sim/substrate/topology.ts";
import type { VerbCommands } from "./channels.ts";
import { EmulationError } from "./errors.ts";
import type { Plan } from "./plan.ts";
import { parallel, type Runner } from "./runner.ts";

interface DevRef {
  /** Directed link index (simulated topology). */
  link: number;
  netns: string;
  dev: string;
}

/** The egress device of every directed link: the link plan's end at the link's source. */
function egressDevices(plan: Plan, topo: Topology): DevRef[] {
  const out: DevRef[] = [];
  for (const lp of plan.links) {
    for (const [i, id] of lp.ids.entries()) {
      if (id === null) continue;
      const end = i === 0 ? lp.a : lp.b;
      out.push({ link: topo.link(id), netns: plan.nodes[end.node]!.netns, dev: end.dev });
    }
  }
  return out.sort((a, b) => a.link - b.link);
}

interface IpLinkStats {
  ifname: string;
  stats64?: { tx?: { bytes?: number; dropped?: number } };
}

interface TcQdiscStats {
  dev?: string;
  root?: boolean;
  drops?: number;
}

/**
 * Where readings come from: the control plane's command channels (a long-lived `ip -s -j -batch` and `tc -s -j
 * -batch` per namespace, emulate/channels.ts), so a reading every tick starts no process; a process per reading
 * (OneShotCommands) where a runner is injected.
 */
export type StatsReader = Pick<VerbCommands, "stats">;

/**
 * Reads tx bytes and dropped packets of every egress device: `ip -s -j link` (bytes, device drops) and
 * `tc -s -j qdisc` (the root qdisc's drops: a full FIFO) per namespace, namespaces in parallel.
 */
async function readCounters(
  reader: StatsReader,
  devs: readonly DevRef[],
  bytes: Float64Array,
  drops: Float64Array,
): Promise<void> {
  const byNs = new Map<string, DevRef[]>();
  for (const d of devs) {
    const list = byNs.get(d.netns) ?? [];
    list.push(d);
    byNs.set(d.netns, list);
  }
  await parallel([...byNs.keys()], async (ns) => {
    const [link, qdisc] = await Promise.all([
      reader.stats("ip", ns, ["link", "show"]),
      reader.stats("tc", ns, ["qdisc", "show"]),
    ]);
    if (link === undefined) throw new EmulationError(`ip -n ${ns} -s -j link show failed`, ["ip", "-n", ns]);
    const rows = JSON.parse(link) as IpLinkStats[];
    const by = new Map(rows.map((x) => [x.ifname, x]));
    const qdiscDrops = new Map<string, number>();
    if (qdisc !== undefined && qdisc !== "") {
      for (const x of JSON.parse(qdisc) as TcQdiscStats[])
        if (x.root && x.dev !== undefined) qdiscDrops.set(x.dev, x.drops ?? 0);
    }
    for (const d of byNs.get(ns)!) {
      const s = by.get(d.dev)?.stats64?.tx;
      bytes[d.link] = s?.bytes ?? bytes[d.link]!;
      drops[d.link] = (s?.dropped ?? 0) + (qdiscDrops.get(d.dev) ?? 0);
    }
  });
}

/**
 * Every directed link's egress counters over a run: tx bytes and drops since the first reading, and the readings
 * at their simulated-time instants. A sampling boundary between two readings is interpolated linearly, so a late
 * reading is not charged to the interval it ends. Bits are reported in simulated units (bytes x `bitsScale`).
 */
export class LinkCounters {
  /** The latest reading: tx bytes and drops (device plus root qdisc) per directed link, since boot. */
  readonly bytes: Float64Array;
  readonly drops: Float64Array;
  /** The first reading's bytes and drops (the run counts from there). */
  readonly baseBytes: Float64Array;
  readonly baseDrops: Float64Array;
  private readonly reads: { t: number; bytes: Float64Array }[];

  private constructor(
    private readonly reader: StatsReader,
    private readonly devs: readonly DevRef[],
    /** Simulated bits per emulated byte (8 x timeCompression / rateScale). */
    readonly bitsScale: number,
    bytes: Float64Array,
    drops: Float64Array,
  ) {
    this.bytes = bytes;
    this.drops = drops;
    this.baseBytes = Float64Array.from(bytes);
    this.baseDrops = Float64Array.from(drops);
    this.reads = [{ t: 0, bytes: Float64Array.from(bytes) }];
  }

  /** Takes the first reading (time 0) of the egress devices of `plan`'s links. */
  static async start(
    reader: StatsReader,
    plan: Plan,
    topo: Topology,
    bitsScale: number,
  ): Promise<LinkCounters> {
    const devs = egressDevices(plan, topo);
    const bytes = new Float64Array(topo.linkCount);
    const drops = new Float64Array(topo.linkCount);
    await readCounters(reader, devs, bytes, drops);
    return new LinkCounters(reader, devs, bitsScale, bytes, drops);
  }

  /** Reads the counters now (throws when a namespace's reading fails). */
  read(): Promise<void> {
    return readCounters(this.reader, this.devs, this.bytes, this.drops);
  }

  /** Keeps the latest reading as taken at `tNs` (simulated). */
  record(tNs: number): void {
    this.reads.push({ t: tNs, bytes: Float64Array.from(this.bytes) });
  }

  /** The latest recorded reading. */
  latest(): { t: number; bytes: Float64Array } {
    return this.reads[this.reads.length - 1]!;
  }

  /** Forgets readings no longer needed to interpolate at or after `tNs` (keeps at least two). */
  forgetBefore(tNs: number): void {
    while (this.reads.length > 2 && this.reads[1]!.t <= tNs) this.reads.shift();
  }

  /** Simulated bits each link carried from the first reading to `tNs`, interpolated, into `out`. */
  bitsUntil(tNs: number, out: Float64Array): Float64Array {
    for (let l = 0; l < out.length; l++)
      out[l] = (this.bytesAt(tNs, l) - this.baseBytes[l]!) * this.bitsScale;
    return out;
  }

  /** Packets dropped at every link's egress since the first reading. */
  totalDrops(): number {
    return this.drops.reduce((a, x, l) => a + x - this.baseDrops[l]!, 0);
  }

  private bytesAt(t: number, l: number): number {
    const reads = this.reads;
    let i = reads.length - 1;
    while (i > 0 && reads[i]!.t > t) i--;
    const a = reads[i]!;
    const b = reads[i + 1];
    if (!b || b.t <= a.t) return a.bytes[l]!;
    return a.bytes[l]! + ((b.bytes[l]! - a.bytes[l]!) * (t - a.t)) / (b.t - a.t);
  }
}

/**
 * UDP datagrams dropped on receive (full socket buffers: `RcvbufErrors` of /proc/net/snmp) over all namespaces:
 * with userspace wires, each is a packet the emulated link lost that the configured link would not have.
 */
export async function udpReceiveErrors(runner: Runner, plan: Plan): Promise<number> {
  let total = 0;
  await parallel(plan.nodes, async (nd) => {
    const r = await runner.run(["ip", "netns", "exec", nd.netns, "cat", "/proc/net/snmp"], { check: false });
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("Udp:"));
    if (lines.length < 2) return;
    const keys = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    total += Number(vals[keys.indexOf("RcvbufErrors")] ?? 0) || 0;
  });
  return total;
}
