/**
 * Config paths: `a.b[2].c` (as in --set and sweep grids, and as printed in messages) to and from key arrays, and
 * setting a value at a path in plain data.
 */

export type PathKey = string | number;

/** A path as printed in messages: `policies[2].params.weight`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else if (typeof k === "string" && /^[A-Za-z_$][\w$-]*$/.test(k)) out += out === "" ? k : `.${k}`;
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out === "" ? "(top level)" : out;
}

/**
 * Parses `a.b[2].c` (or `a.b.2.c`) into keys; numeric segments become array indices.
 * @throws Error naming the path when it is malformed.
 */
export function parsePath(s: string): PathKey[] {
  const keys: PathKey[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let i = 0;
  while (i < s.length) {
    if (s[i] === "." && keys.length > 0) i++;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`malformed path ${JSON.stringify(s)} at character ${i + 1}`);
    if (m[1] !== undefined) keys.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
    else if (m[2] !== undefined) keys.push(Number(m[2]));
    else keys.push(JSON.parse(m[3]!) as string);
    i = re.lastIndex;
  }
  if (keys.length === 0) throw new Error(`malformed path ${JSON.stringify(s)}: empty`);
  return keys;
}

/** The value at `path` in plain data, or undefined. */
export function getAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k as string];
  }
  return cur;
}

/**
 * Sets `value` at `path`, creating objects (or arrays, for numeric keys) on the way. Returns a new root; the
 * input is not modified. A list index may name an item or the end of the list (to append), nothing further.
 * @throws Error when the path runs through a scalar, names a field of a list, or an index past the end of one.
 */
export function setAt(
  root: unknown,
  path: readonly PathKey[],
  value: unknown,
  done: PathKey[] = [],
): unknown {
  if (path.length === 0) return value;
  const [k, ...rest] = path as [PathKey, ...PathKey[]];
  const here = done.length === 0 ? "the top level" : formatPath(done);
  let container: Record<string, unknown> | unknown[];
  if (root === undefined || root === null) container = typeof k === "number" ? [] : {};
  else if (typeof root === "object") container = Array.isArray(root) ? [...root] : { ...(root as object) };
  else throw new Error(`cannot set ${JSON.stringify(k)} inside ${here}, which is ${JSON.stringify(root)}`);
  if (Array.isArray(container)) {
    if (typeof k !== "number") {
      throw new Error(
        `${here} is a list: expected an index such as ${formatPath([...done, 0])}, got ${JSON.stringify(k)}`,
      );
    }
    if (k > container.length) {
      throw new Error(
        `index ${k} is past the end of ${here} (${container.length} item${container.length === 1 ? "" : "s"}); use ${formatPath([...done, container.length])} to append`,
      );
    }
  }
  const child = (container as Record<PathKey, unknown>)[k];
  (container as Record<PathKey, unknown>)[k] = setAt(child, rest, value, [...done, k]);
  return container;
}
