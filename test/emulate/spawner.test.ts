/**
 * The off-loop process starter (emulate/spawner.ts): each request's exit code and output come back to it, in
 * whatever order the children end; failures as the ProcessRunner reports them; a closed helper replaced by the
 * next request. No root.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationError } from "../../emulate/errors.ts";
import { SpawnerRunner } from "../../emulate/spawner.ts";

const sh = (script: string) => ["sh", "-c", script];

describe("SpawnerRunner", () => {
  it("answers each request with its own exit code and output, and fails like the ProcessRunner", async () => {
    const r = new SpawnerRunner();
    try {
      const cases = [
        { argv: sh("sleep 0.3; echo slow"), want: { code: 0, stdout: "slow\n", stderr: "" } },
        { argv: sh("echo out; echo err >&2; exit 3"), want: { code: 3, stdout: "out\n", stderr: "err\n" } },
        { argv: sh("printf 'a\\nb'"), want: { code: 0, stdout: "a\nb", stderr: "" } },
      ];
      const order: number[] = [];
      const got = await Promise.all(
        cases.map(async (c, i) => {
          const x = await r.run(c.argv, { check: false });
          order.push(i);
          return x;
        }),
      );
      for (const [i, g] of got.entries()) assert.deepEqual(g, cases[i]!.want);
      assert.equal(order.at(-1), 0, "the slow child answered last, the others not held behind it");
      const failures: [string, () => Promise<unknown>, RegExp][] = [
        ["a non-zero exit, checked", () => r.run(sh("echo no >&2; exit 2")), /exit code 2: no$/],
        ["a missing program", () => r.run(["/nonexistent/topocast-x"]), /cannot start/],
        ["a timeout", () => r.run(sh("sleep 5"), { timeoutMs: 100 }), /timed out/],
        ["input", () => r.run(["cat"], { input: "x" }), /without input/],
      ];
      for (const [what, p, re] of failures)
        await assert.rejects(p(), (e: unknown) => e instanceof EmulationError && re.test(e.message), what);
      r.close();
      assert.deepEqual(
        await r.run(sh("echo again")),
        { code: 0, stdout: "again\n", stderr: "" },
        "a new helper",
      );
      assert.equal(r.stats.processes, 7, "every request but the one with input");
    } finally {
      r.close();
    }
  });
});
