/**
 * What changed between two persona documents: every leaf field (number, string, boolean, null) whose value
 * differs, by its path (`desired.qos.priority`, `fingerprint.peers[1].bytes`), plus fields present on one side
 * only. Arrays compare index by index (peers, allow rules and ports are sorted in a document, so an added peer
 * shows as changes from its index on). `version` is left out: it always differs.
 */
import type { Persona } from "./profile.ts";

/** One changed field; `from`/`to` are undefined where the field is absent. */
export interface PersonaChange {
  path: string;
  from: unknown;
  to: unknown;
}

/** The changed fields from `a` to `b`, in document order. */
export function diffPersonas(a: Persona, b: Persona): PersonaChange[] {
  const out: PersonaChange[] = [];
  const { version: _va, ...left } = a;
  const { version: _vb, ...right } = b;
  walk(left, right, "", out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: PersonaChange[]): void {
  if (isContainer(a) && isContainer(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a)
      ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => i)
      : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const sub = typeof k === "number" ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      walk((a as Record<string | number, unknown>)[k], (b as Record<string | number, unknown>)[k], sub, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, from: a, to: b });
}

function isContainer(v: unknown): v is Record<string | number, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}
