/**
 * Kademlia routing tables as typed arrays (Maymounkov & Mazières, "Kademlia: A Peer-to-peer Information System
 * Based on the XOR Metric", IPTPS 2002, §2.2).
 *
 * Identifiers are 32-bit unsigned integers (the paper's are 160 bits: with N <= 2^16 nodes only the top ~log2 N
 * bits ever separate nodes, so 32 bits route the same while fitting one machine word). The distance between ids
 * x and y is x XOR y read as an unsigned integer; node x keeps one k-bucket per bit b = 0..31 holding contacts c
 * with 2^b <= x XOR c < 2^(b+1), i.e. b = 31 - clz32(x XOR c).
 *
 * Storage: node i's bucket b occupies `contacts[(i * 32 + b) * k ...]` (node indices), `counts[i * 32 + b]` of
 * them used, least recently seen first (the paper's order). A full bucket keeps its old contacts (the paper
 * pings the least recently seen and keeps it when it answers; here a contact leaves only when an RPC to it times
 * out, {@link RoutingTables.remove}, which keeps the paper's preference for long-lived contacts without the ping's
 * round trip). Capacity grows by doubling as nodes join.
 */

export const ID_BITS = 32;

/** The k-bucket index of `other` in `self`'s table: floor(log2(self XOR other)); -1 when equal. */
export function bucketIndex(self: number, other: number): number {
  const d = (self ^ other) >>> 0;
  return d === 0 ? -1 : 31 - Math.clz32(d);
}

/** XOR distance of two 32-bit ids, as an unsigned integer. */
export function xorDistance(a: number, b: number): number {
  return (a ^ b) >>> 0;
}

export class RoutingTables {
  private contacts: Int32Array;
  private counts: Uint8Array;
  private capacity: number;

  /**
   * @param k bucket size (the paper's k, 20).
   * @param ids node index -> id; read (not copied) on every call, so it may grow.
   */
  constructor(
    readonly k: number,
    private readonly ids: () => Uint32Array,
    initialNodes = 64,
  ) {
    this.capacity = Math.max(1, initialNodes);
    this.contacts = new Int32Array(this.capacity * ID_BITS * k);
    this.counts = new Uint8Array(this.capacity * ID_BITS);
  }

  /** Makes room for node indices below `n`. */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    const c = new Int32Array(cap * ID_BITS * this.k);
    c.set(this.contacts);
    const n2 = new Uint8Array(cap * ID_BITS);
    n2.set(this.counts);
    this.contacts = c;
    this.counts = n2;
    this.capacity = cap;
  }

  /** Contacts of `node`'s bucket `b`, least recently seen first (a copy). */
  bucket(node: number, b: number): number[] {
    const base = (node * ID_BITS + b) * this.k;
    return Array.from(this.contacts.subarray(base, base + this.counts[node * ID_BITS + b]!));
  }

  /** Number of contacts in `node`'s table. */
  size(node: number): number {
    let s = 0;
    for (let b = 0; b < ID_BITS; b++) s += this.counts[node * ID_BITS + b]!;
    return s;
  }

  /**
   * `node` has heard from `contact`: moves it to its bucket's tail (most recently seen), or appends it when the
   * bucket has room. Returns false when the bucket is full and the contact was not in it.
   */
  touch(node: number, contact: number): boolean {
    const slot = this.slotOf(node, contact);
    if (slot < 0) return false;
    const base = slot * this.k;
    const n = this.counts[slot]!;
    const i = this.indexIn(base, n, contact);
    const c = this.contacts;
    if (i >= 0) {
      c.copyWithin(base + i, base + i + 1, base + n);
      c[base + n - 1] = contact;
      return true;
    }
    if (n >= this.k) return false;
    c[base + n] = contact;
    this.counts[slot] = n + 1;
    return true;
  }

  /** Removes `contact` from `node`'s table (an RPC to it timed out); false when it was not there. */
  remove(node: number, contact: number): boolean {
    const slot = this.slotOf(node, contact);
    if (slot < 0) return false;
    const base = slot * this.k;
    const n = this.counts[slot]!;
    const i = this.indexIn(base, n, contact);
    if (i < 0) return false;
    this.contacts.copyWithin(base + i, base + i + 1, base + n);
    this.counts[slot] = n - 1;
    return true;
  }

  /** The bucket slot of `node`'s table where `contact` belongs, or -1 when their ids are equal. */
  private slotOf(node: number, contact: number): number {
    const ids = this.ids();
    const b = bucketIndex(ids[node]!, ids[contact]!);
    return b < 0 ? -1 : node * ID_BITS + b;
  }

  /** Position of `contact` among the `n` entries from `base` in `contacts`, or -1. */
  private indexIn(base: number, n: number, contact: number): number {
    for (let i = 0; i < n; i++) if (this.contacts[base + i] === contact) return i;
    return -1;
  }

  /** Drops every contact of `node` (a node that leaves and whose index is not reused keeps nothing). */
  clear(node: number): void {
    this.counts.fill(0, node * ID_BITS, (node + 1) * ID_BITS);
  }

  /**
   * The up to `count` contacts of `node` closest to `target` by XOR, closest first (ids are unique, so the order
   * is total). With b* the bucket the target falls in, bucket b*'s contacts are the closest (below 2^b*), then
   * the buckets under b* together (in [2^b*, 2^(b*+1))), then each bucket above b* in turn (bucket j in
   * [2^j, 2^(j+1))): only those groups are sorted, and the walk stops once `count` are found.
   */
  closest(node: number, target: number, count: number): number[] {
    const ids = this.ids();
    const out: number[] = [];
    const start = node * ID_BITS;
    const bs = bucketIndex(ids[node]!, target);
    const byDistance = (a: number, b: number) => xorDistance(ids[a]!, target) - xorDistance(ids[b]!, target);
    const take = (from: number, to: number): void => {
      const g: number[] = [];
      for (let b = from; b < to; b++) {
        const n = this.counts[start + b]!;
        const base = (start + b) * this.k;
        for (let i = 0; i < n; i++) g.push(this.contacts[base + i]!);
      }
      g.sort(byDistance);
      for (const c of g) out.push(c);
    };
    if (bs >= 0) {
      take(bs, bs + 1);
      if (out.length < count) take(0, bs);
    }
    for (let b = bs + 1; b < ID_BITS && out.length < count; b++) take(b, b + 1);
    if (out.length > count) out.length = count;
    return out;
  }
}
