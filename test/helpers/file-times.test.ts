/**
 * The test-time reporter (test/helpers/file-times.mjs): per-file times from the runner's events, the slowest files,
 * and a warning for each file and group over its budget.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fileTimes from "./file-times.mjs";

const dir = mkdtempSync(join(tmpdir(), "topocast-file-times-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The runner's events for files of these durations (ms), a test inside each, then the run's duration. */
async function* events(files: Record<string, number>, totalMs: number) {
  for (const [f, ms] of Object.entries(files)) {
    const file = join(process.cwd(), f);
    yield { type: "test:complete", data: { name: "a test", file, nesting: 0, details: { duration_ms: 1 } } };
    yield { type: "test:complete", data: { name: file, file, nesting: 0, details: { duration_ms: ms } } };
  }
  yield { type: "test:diagnostic", data: { nesting: 0, message: `duration_ms ${totalMs}` } };
}

async function report(files: Record<string, number>, totalMs: number, env: Record<string, string>) {
  const saved = { ...process.env };
  // The reporter's own variables as the case gives them (npm test sets budgets for the run around this test).
  for (const k of Object.keys(process.env)) if (k.startsWith("TOPOCAST_TEST_")) delete process.env[k];
  Object.assign(process.env, env);
  try {
    let out = "";
    for await (const s of fileTimes(events(files, totalMs))) out += s;
    return out.trimEnd().split("\n");
  } finally {
    process.env = saved;
  }
}

describe("test-time reporter", () => {
  const FILES = { "test/a.test.ts": 12_000, "test/b.test.ts": 45_500, "test/c.test.ts": 800 };
  const cases: { name: string; env: Record<string, string>; warnings: string[] }[] = [
    { name: "no budgets: no warning", env: {}, warnings: [] },
    {
      name: "a file budget: each file over it",
      env: { TOPOCAST_TEST_FILE_BUDGET_S: "10" },
      warnings: [
        "warning: test file over its 10 s budget (parallel): test/b.test.ts took 45.5 s",
        "warning: test file over its 10 s budget (parallel): test/a.test.ts took 12.0 s",
      ],
    },
    {
      name: "a group budget: the group over it",
      env: { TOPOCAST_TEST_FILE_BUDGET_S: "60", TOPOCAST_TEST_GROUP_BUDGET_S: "50" },
      warnings: ["warning: test group parallel over its 50 s budget: took 50.2 s"],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const lines = await report(FILES, 50_200, { TOPOCAST_TEST_GROUP: "parallel", ...c.env });
      assert.equal(
        lines[0],
        "test times (parallel): 3 files in 50.2 s; slowest: test/b.test.ts 45.5 s, test/a.test.ts 12.0 s, test/c.test.ts 0.8 s",
      );
      assert.deepEqual(lines.slice(1), c.warnings);
    });
  }

  it("writes the times as JSON, slowest first", async () => {
    const file = join(dir, "times.json");
    await report(FILES, 50_200, { TOPOCAST_TEST_TIMES: file, TOPOCAST_TEST_GROUP: "timed" });
    const t = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(t.group, "timed");
    assert.deepEqual(Object.entries(t.files), [
      ["test/b.test.ts", 45_500],
      ["test/a.test.ts", 12_000],
      ["test/c.test.ts", 800],
    ]);
    assert.equal(t.totalMs, 50_200);
  });

  it("refuses a budget that is not a positive number of seconds, naming it", async () => {
    await assert.rejects(
      report(FILES, 1, { TOPOCAST_TEST_FILE_BUDGET_S: "soon" }),
      /TOPOCAST_TEST_FILE_BUDGET_S: expected a positive number of seconds, got "soon"/,
    );
  });
});
