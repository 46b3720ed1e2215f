/** Growing typed arrays (a copy of the first elements into a longer array), for the transport's per-slot state. */

export function growF64(a: Float64Array, n: number, fill = 0): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}

export function growI32(a: Int32Array, n: number, fill = 0): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}

export function growU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

export function growU32(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
