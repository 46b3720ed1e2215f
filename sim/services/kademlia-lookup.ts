/**
 * One iterative Kademlia lookup (Maymounkov & Mazières 2002, §2.3): the node lookup (FIND_NODE) and the value
 * lookup (FIND_VALUE).
 *
 * The initiator seeds a shortlist with the k contacts of its own table closest to the target and keeps up to
 * alpha RPCs in flight, always to the closest shortlisted node not yet asked among the k closest that have not
 * failed. Every reply adds the responder's k closest contacts to the shortlist; an RPC that times out marks its
 * node failed (and the initiator drops it from its table). The node lookup ends when the k closest non-failed
 * nodes have all answered; the value lookup ends at the first reply carrying the value. This is the paper's
 * procedure with its rounds made asynchronous (a new RPC leaves as soon as one returns, as deployed Kademlias do)
 * rather than "alpha at a time, then all k when a round finds nothing closer".
 *
 * Hops. A contact taken from the initiator's table has depth 1; one learned from a depth-d responder has depth
 * d + 1 (the smaller when learned twice). A value lookup's hops are the depth of the node that returned the value,
 * a node lookup's the depth of the closest node found: the length of the chain of referrals that led there.
 */
import { xorDistance } from "./kademlia-table.ts";

const NEW = 0;
const ASKED = 1;
const ANSWERED = 2;
const FAILED = 3;

interface Entry {
  readonly node: number;
  readonly distance: number;
  depth: number;
  state: number;
}

/** What a lookup's RPC returns: the responder's closest contacts, or the value (items) when it holds it. */
export interface LookupReply<V> {
  readonly contacts: readonly number[];
  readonly value?: V;
}

/** The transport a lookup runs over: one RPC, answered or failed (timeout) later in simulated time. */
export interface LookupRpc<V> {
  send(to: number, onReply: (r: LookupReply<V>) => void, onFail: () => void): void;
}

export interface LookupOutcome<V> {
  /** The value, for a value lookup that found it. */
  readonly value?: V;
  /** Nodes that answered, closest to the target first, at most k. */
  readonly closest: readonly number[];
  readonly hops: number;
  /** RPCs sent (each is a request and, when answered, a reply). */
  readonly rpcs: number;
  readonly timeouts: number;
}

export class Lookup<V> {
  private readonly entries: Entry[] = [];
  private readonly seen = new Map<number, Entry>();
  private inflight = 0;
  private rpcs = 0;
  private timeouts = 0;
  private finished = false;

  /**
   * @param self the initiator (never added to the shortlist).
   * @param ids node index -> 32-bit id.
   */
  constructor(
    private readonly self: number,
    private readonly target: number,
    private readonly ids: Uint32Array,
    private readonly k: number,
    private readonly alpha: number,
    private readonly wantValue: boolean,
    private readonly rpc: LookupRpc<V>,
    private readonly done: (o: LookupOutcome<V>) => void,
  ) {}

  /** Starts from the initiator's closest contacts. */
  start(seeds: readonly number[]): void {
    this.add(seeds, 1);
    this.pump();
  }

  private add(nodes: readonly number[], depth: number): void {
    for (const n of nodes) {
      if (n === this.self) continue;
      const old = this.seen.get(n);
      if (old !== undefined) {
        if (depth < old.depth) old.depth = depth;
        continue;
      }
      const d = xorDistance(this.ids[n]!, this.target);
      const e: Entry = { node: n, distance: d, depth, state: NEW };
      this.seen.set(n, e);
      let lo = 0;
      let hi = this.entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.entries[mid]!.distance < d) lo = mid + 1;
        else hi = mid;
      }
      this.entries.splice(lo, 0, e);
    }
  }

  /** Sends RPCs to the closest unasked among the k closest non-failed, up to alpha in flight; ends when none. */
  private pump(): void {
    if (this.finished) return;
    let considered = 0;
    for (let i = 0; i < this.entries.length && considered < this.k && this.inflight < this.alpha; i++) {
      const e = this.entries[i]!;
      if (e.state === FAILED) continue;
      considered++;
      if (e.state !== NEW) continue;
      e.state = ASKED;
      this.inflight++;
      this.rpcs++;
      this.rpc.send(
        e.node,
        (r) => this.onReply(e, r),
        () => this.onFail(e),
      );
    }
    if (this.inflight === 0) this.finish(undefined, -1);
  }

  private onReply(e: Entry, r: LookupReply<V>): void {
    this.inflight--;
    if (this.finished) return;
    e.state = ANSWERED;
    if (this.wantValue && r.value !== undefined) {
      this.finish(r.value, e.depth);
      return;
    }
    this.add(r.contacts, e.depth + 1);
    this.pump();
  }

  private onFail(e: Entry): void {
    this.inflight--;
    this.timeouts++;
    if (this.finished) return;
    e.state = FAILED;
    this.pump();
  }

  private finish(value: V | undefined, valueDepth: number): void {
    this.finished = true;
    const closest: number[] = [];
    let hops = valueDepth;
    for (const e of this.entries) {
      if (e.state !== ANSWERED) continue;
      if (closest.length === 0 && hops < 0) hops = e.depth;
      closest.push(e.node);
      if (closest.length === this.k) break;
    }
    const outcome: LookupOutcome<V> = {
      closest,
      hops: Math.max(hops, 0),
      rpcs: this.rpcs,
      timeouts: this.timeouts,
    };
    this.done(value === undefined ? outcome : { ...outcome, value });
  }
}
