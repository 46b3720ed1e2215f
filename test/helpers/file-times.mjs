/**
 * A node:test reporter run beside `spec` by the package.json test scripts: each test file's wall time (from the
 * runner taking it up to its end, start-up included, as the runner times it), the slowest files, and a warning for
 * every file over the file budget and for the whole group over the group budget, so that `npm test` keeps its
 * headroom under CI's 10 minutes (docs/architecture.md, "Test time"). It warns and never fails a run: times depend
 * on the machine's load.
 *
 * Environment: TOPOCAST_TEST_GROUP names the group in its lines ("tests" when unset); TOPOCAST_TEST_FILE_BUDGET_S
 * and TOPOCAST_TEST_GROUP_BUDGET_S are the budgets in seconds (unset: no warning); TOPOCAST_TEST_TIMES, a path,
 * gets the times as JSON ({group, files: {path: ms}, totalMs}, slowest first).
 *
 * JavaScript, not TypeScript: node 20 loads a reporter without the --import'ed tsx loader.
 */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";

/** How many of the slowest files the summary lists. */
const SHOWN = 10;

/** @param {string} name @returns {number | undefined} */
function seconds(name) {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name}: expected a positive number of seconds, got "${v}"`);
  return n;
}

/**
 * The summary lines for per-file times (ms by file path), the group's wall time (ms) and its budgets (s).
 * @param {string} group
 * @param {ReadonlyMap<string, number>} files
 * @param {number} totalMs
 * @param {{ fileS?: number, groupS?: number }} budget
 * @returns {string[]}
 */
export function timeLines(group, files, totalMs, budget) {
  const sorted = [...files].sort((a, b) => b[1] - a[1]);
  const s = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(1)} s`;
  const slowest = sorted.slice(0, SHOWN).map(([f, ms]) => `${f} ${s(ms)}`);
  const lines = [
    `test times (${group}): ${files.size} files in ${s(totalMs)}; slowest: ${slowest.join(", ")}`,
  ];
  const fileS = budget.fileS;
  for (const [f, ms] of fileS === undefined ? [] : sorted.filter(([, ms]) => ms > fileS * 1000))
    lines.push(`warning: test file over its ${fileS} s budget (${group}): ${f} took ${s(ms)}`);
  if (budget.groupS !== undefined && totalMs > budget.groupS * 1000)
    lines.push(`warning: test group ${group} over its ${budget.groupS} s budget: took ${s(totalMs)}`);
  return lines;
}

/**
 * The reporter: collects each file's time (the runner's `test:complete` for the file, named by its path) and the
 * run's duration, then prints the summary.
 * @param {AsyncIterable<{ type: string, data: any }>} source
 * @returns {AsyncGenerator<string>}
 */
export default async function* fileTimes(source) {
  /** @type {Map<string, number>} */
  const files = new Map();
  let totalMs = 0;
  for await (const { type, data } of source) {
    if (type === "test:complete" && data.nesting === 0 && data.file !== undefined && data.name === data.file)
      files.set(relative(process.cwd(), data.file), data.details?.duration_ms ?? 0);
    const m = type === "test:diagnostic" ? /^duration_ms ([\d.]+)$/.exec(data.message) : null;
    if (m) totalMs = Number(m[1]);
  }
  const group = process.env.TOPOCAST_TEST_GROUP || "tests";
  const budget = {
    fileS: seconds("TOPOCAST_TEST_FILE_BUDGET_S"),
    groupS: seconds("TOPOCAST_TEST_GROUP_BUDGET_S"),
  };
  const out = process.env.TOPOCAST_TEST_TIMES;
  if (out) {
    const sorted = Object.fromEntries([...files].sort((a, b) => b[1] - a[1]));
    writeFileSync(out, `${JSON.stringify({ group, files: sorted, totalMs }, null, 2)}\n`);
  }
  yield `${timeLines(group, files, totalMs, budget).join("\n")}\n`;
}
