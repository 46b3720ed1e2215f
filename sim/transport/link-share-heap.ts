/**
 * An indexed binary min-heap of links by fair share (bits/s per unfrozen flow) for progressive filling
 * (flow-network.ts): each link is in it at most once, at its current share, and a share changes in place
 * (`update`) or the link leaves (`remove`). Order: share, then link index, a total order, so the pop order is
 * unique whatever the heap's internal layout.
 *
 * Against a heap with lazy deletion (a new entry per change, stale ones skipped at pop) it holds the component's
 * links only, not one entry per change, so pops and sifts stay O(log links) and stale entries cost nothing: the
 * progressive filling of a component with F flows over paths of H hops changes shares F x H times.
 * Memory: 16 bytes per entry plus 4 bytes per link index (positions); no allocation after growth.
 */
import { growF64, growI32 } from "./typed-arrays.ts";

export class LinkShareHeap {
  private key = new Float64Array(64);
  private link = new Int32Array(64);
  /** Heap position per link index, -1 when absent. */
  private pos = new Int32Array(64).fill(-1);
  size = 0;

  /** Share of the last popped link. */
  topKey = 0;

  /** Empties the heap. */
  clear(): void {
    for (let i = 0; i < this.size; i++) this.pos[this.link[i]!] = -1;
    this.size = 0;
  }

  /** Adds link `l` (not in the heap) with share `k`, without restoring the heap order: call {@link heapify} after. */
  append(k: number, l: number): void {
    if (this.size === this.key.length) this.growEntries();
    if (l >= this.pos.length) this.growPositions(l);
    const i = this.size++;
    this.key[i] = k;
    this.link[i] = l;
    this.pos[l] = i;
  }

  /** Restores the heap order after {@link append}s, O(size). */
  heapify(): void {
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The least share, without removing it. The heap must not be empty. */
  peekKey(): number {
    return this.key[0]!;
  }

  /** Removes the least (share, link) and returns its link; its share is in {@link topKey}. The heap must not be empty. */
  pop(): number {
    const l = this.link[0]!;
    this.topKey = this.key[0]!;
    this.pos[l] = -1;
    const n = --this.size;
    if (n > 0) {
      this.key[0] = this.key[n]!;
      this.link[0] = this.link[n]!;
      this.pos[this.link[0]!] = 0;
      this.siftDown(0);
    }
    return l;
  }

  /** Sets the share of link `l`, which is in the heap. */
  update(l: number, k: number): void {
    const i = this.pos[l]!;
    const old = this.key[i]!;
    this.key[i] = k;
    if (k > old) this.siftDown(i);
    else if (k < old) this.siftUp(i);
  }

  /** Removes link `l` if it is in the heap. */
  remove(l: number): void {
    if (l >= this.pos.length) return;
    const i = this.pos[l]!;
    if (i < 0) return;
    this.pos[l] = -1;
    const n = --this.size;
    if (i === n) return;
    const moved = this.link[n]!;
    this.key[i] = this.key[n]!;
    this.link[i] = moved;
    this.pos[moved] = i;
    this.siftDown(i);
    this.siftUp(this.pos[moved]!);
  }

  /** Moves the entry at `i` down to its place (the hole moves; the entry is written once). */
  private siftDown(i: number): void {
    const key = this.key;
    const link = this.link;
    const pos = this.pos;
    const n = this.size;
    const k = key[i]!;
    const l = link[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let kc = key[c]!;
      if (c + 1 < n) {
        const kr = key[c + 1]!;
        if (kr < kc || (kr === kc && link[c + 1]! < link[c]!)) {
          c++;
          kc = kr;
        }
      }
      if (k < kc || (k === kc && l < link[c]!)) break;
      key[i] = kc;
      link[i] = link[c]!;
      pos[link[i]!] = i;
      i = c;
    }
    key[i] = k;
    link[i] = l;
    pos[l] = i;
  }

  /** Moves the entry at `i` up to its place. */
  private siftUp(i: number): void {
    const key = this.key;
    const link = this.link;
    const pos = this.pos;
    const k = key[i]!;
    const l = link[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const kp = key[p]!;
      if (kp < k || (kp === k && link[p]! < l)) break;
      key[i] = kp;
      link[i] = link[p]!;
      pos[link[i]!] = i;
      i = p;
    }
    key[i] = k;
    link[i] = l;
    pos[l] = i;
  }

  private growEntries(): void {
    const n = this.key.length * 2;
    this.key = growF64(this.key, n);
    this.link = growI32(this.link, n);
  }

  private growPositions(atLeast: number): void {
    this.pos = growI32(this.pos, Math.max(2 * this.pos.length, atLeast + 1), -1);
  }
}
