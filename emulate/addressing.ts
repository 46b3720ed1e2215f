/**
 * IPv4 addresses for an emulated substrate, all taken from one configurable private block (default
 * {@link DEFAULT_BLOCK}) and used only inside the run's namespaces.
 *
 * Layout of a block of size S = 2^(32 - prefixLength), as offsets from its base:
 * - node addresses (a /32 on each namespace's `lo`): offsets 1 .. N;
 * - link subnets (/31, RFC 3021: the source end takes the even address): from the first multiple of 256 above N,
 *   two addresses per link subnet, in allocation order;
 * - virtual-link subnets and tunnel endpoints: from the top of the block downwards ({@link AddressPool.takeTop}).
 * Allocation fails with an {@link EmulationError} naming the block when the two ends meet.
 */
import { EmulationError } from "./errors.ts";

export const DEFAULT_BLOCK = "10.213.0.0/16";

const PRIVATE_BLOCKS: readonly [number, number][] = [
  [0x0a000000, 8], // 10.0.0.0/8
  [0xac100000, 12], // 172.16.0.0/12
  [0xc0a80000, 16], // 192.168.0.0/16
];

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new EmulationError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255)
      throw new EmulationError(`not an IPv4 address: ${JSON.stringify(ip)}`);
    v = v * 256 + n;
  }
  return v;
}

export function intToIp(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

export interface Block {
  base: number;
  prefixLength: number;
  size: number;
}

/**
 * Parses `"a.b.c.d/len"`; the block must be aligned, lie inside an RFC 1918 private range, and have
 * `len` in [8, 28]. Throws an {@link EmulationError} naming the value otherwise.
 */
export function parseBlock(cidr: string): Block {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new EmulationError(`address block: expected "a.b.c.d/len", got ${JSON.stringify(cidr)}`);
  const base = ipToInt(m[1]!);
  const prefixLength = Number(m[2]);
  if (prefixLength < 8 || prefixLength > 28) {
    throw new EmulationError(`address block ${cidr}: prefix length must be in [8, 28]`);
  }
  const size = 2 ** (32 - prefixLength);
  if (base % size !== 0)
    throw new EmulationError(`address block ${cidr}: base is not aligned to /${prefixLength}`);
  const inPrivate = PRIVATE_BLOCKS.some(
    ([pb, pl]) => prefixLength >= pl && Math.floor(base / 2 ** (32 - pl)) === pb / 2 ** (32 - pl),
  );
  if (!inPrivate)
    throw new EmulationError(`address block ${cidr}: must lie inside 10/8, 172.16/12 or 192.168/16`);
  return { base, prefixLength, size };
}

/** A /31: the two ends' addresses. */
export interface Subnet31 {
  a: string;
  b: string;
}

/** Hands out node addresses and /31 subnets from a {@link Block} in the layout above. */
export class AddressPool {
  readonly block: Block;
  private nextLow: number;
  private nextHigh: number;

  constructor(
    cidr: string,
    readonly nodeCount: number,
  ) {
    this.block = parseBlock(cidr);
    this.nextLow = Math.ceil((nodeCount + 1) / 256) * 256;
    this.nextHigh = this.block.size;
    if (nodeCount + 1 > this.block.size) throw this.full("node addresses");
  }

  /** The /32 of node `index` (0-based). */
  nodeAddress(index: number): string {
    return intToIp(this.block.base + 1 + index);
  }

  /** The next /31 link subnet from the bottom. */
  takeLink(): Subnet31 {
    if (this.nextLow + 2 > this.nextHigh) throw this.full("link subnets");
    const a = this.block.base + this.nextLow;
    this.nextLow += 2;
    return { a: intToIp(a), b: intToIp(a + 1) };
  }

  /** The next /31 from the top (virtual links, tunnel endpoints). */
  takeTop(): Subnet31 {
    if (this.nextHigh - 2 < this.nextLow) throw this.full("virtual-link subnets");
    this.nextHigh -= 2;
    const a = this.block.base + this.nextHigh;
    return { a: intToIp(a), b: intToIp(a + 1) };
  }

  /** Offsets in use, to persist and resume (the control plane allocates in a later process). */
  get cursor(): { low: number; high: number } {
    return { low: this.nextLow, high: this.nextHigh };
  }

  resume(cursor: { low: number; high: number }): this {
    this.nextLow = cursor.low;
    this.nextHigh = cursor.high;
    return this;
  }

  private full(what: string): EmulationError {
    const cidr = `${intToIp(this.block.base)}/${this.block.prefixLength}`;
    return new EmulationError(`address block ${cidr} is too small for the ${what} (use a larger block)`);
  }
}
