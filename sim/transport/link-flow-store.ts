/**
 * The flow copies on each link, flat (flow-network.ts): link l's entries are (slot, hop index in that slot's path)
 * at `flows[start[l] + i]` and `hops[start[l] + i]` for i in 0 .. count[l]-1, all links in two shared typed arrays,
 * so the max-min reallocation's passes over a component's links read contiguous memory and no per-link object.
 *
 * A link's segment has room for `room[l]` entries; when it is full it moves to the end of the store with twice the
 * room (the old segment is left unused), and the store is compacted when more than half of it is unused. An
 * entry's index i within its link's segment does not change when the segment moves, so callers may keep it.
 * Removal moves the link's last entry into the hole (order within a link is the order of adds and swaps, the same
 * as the per-link growable lists it replaces). Memory: 8 bytes per entry and room, 12 bytes per link.
 */
import { growI32 } from "./typed-arrays.ts";

const MIN_ROOM = 4;

export class LinkFlowStore {
  start: Int32Array;
  count: Int32Array;
  private room: Int32Array;
  flows = new Int32Array(1024);
  hops = new Int32Array(1024);
  /** End of the used part of `flows` and `hops`. */
  private end = 0;
  /** Entries in abandoned segments. */
  private unused = 0;

  constructor(links: number) {
    this.start = new Int32Array(links);
    this.count = new Int32Array(links);
    this.room = new Int32Array(links);
  }

  /** Makes room for links 0 .. n-1 (new links are empty). */
  growLinks(n: number): void {
    this.start = growI32(this.start, n);
    this.count = growI32(this.count, n);
    this.room = growI32(this.room, n);
  }

  /** Appends (slot, hop) to link l; returns its index within the link. */
  add(l: number, slot: number, hop: number): number {
    const n = this.count[l]!;
    if (n === this.room[l]!) this.move(l, Math.max(MIN_ROOM, 2 * n));
    const at = this.start[l]! + n;
    this.flows[at] = slot;
    this.hops[at] = hop;
    this.count[l] = n + 1;
    return n;
  }

  /**
   * Removes entry i of link l by moving the link's last entry into it. Returns the index of the entry that moved
   * (its slot and hop are now at i), or -1 when i was the last.
   */
  removeAt(l: number, i: number): number {
    const last = --this.count[l]!;
    if (i === last) return -1;
    const s = this.start[l]!;
    this.flows[s + i] = this.flows[s + last]!;
    this.hops[s + i] = this.hops[s + last]!;
    return last;
  }

  /** The slots on link l, as a view (`flows[0 .. count-1]`). */
  slotsOn(l: number): { readonly flows: Int32Array; readonly count: number } {
    const s = this.start[l]!;
    return { flows: this.flows.subarray(s, s + this.count[l]!), count: this.count[l]! };
  }

  /** Moves link l's segment to the end with room `room`, compacting or growing the store first if needed. */
  private move(l: number, room: number): void {
    if (this.end + room > this.flows.length) {
      if (this.unused > this.end / 2) this.compact();
      if (this.end + room > this.flows.length) {
        const n = Math.max(2 * this.flows.length, this.end + room);
        this.flows = growI32(this.flows, n);
        this.hops = growI32(this.hops, n);
      }
    }
    const s = this.start[l]!;
    const n = this.count[l]!;
    this.flows.copyWithin(this.end, s, s + n);
    this.hops.copyWithin(this.end, s, s + n);
    this.unused += this.room[l]!;
    this.start[l] = this.end;
    this.room[l] = room;
    this.end += room;
  }

  /** Packs every link's segment (with its room) from the start of the store, in link order. */
  private compact(): void {
    const flows = new Int32Array(this.flows.length);
    const hops = new Int32Array(this.hops.length);
    let at = 0;
    for (let l = 0; l < this.start.length; l++) {
      const s = this.start[l]!;
      const n = this.count[l]!;
      flows.set(this.flows.subarray(s, s + n), at);
      hops.set(this.hops.subarray(s, s + n), at);
      this.start[l] = at;
      at += this.room[l]!;
    }
    this.flows = flows;
    this.hops = hops;
    this.end = at;
    this.unused = 0;
  }
}
