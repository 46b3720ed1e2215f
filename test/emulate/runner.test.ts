import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationError } from "../../emulate/errors.ts";
import { ProcessRunner, parallel, type Runner, type RunOptions, runBatch } from "../../emulate/runner.ts";

/** Records argv and stdin; fails with `stderr` when `fail` is set. */
class FakeRunner implements Runner {
  calls: { argv: readonly string[]; input?: string }[] = [];
  constructor(private readonly fail?: { code: number; stderr: string }) {}
  async run(argv: readonly string[], opts: RunOptions = {}) {
    this.calls.push({ argv, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    return this.fail
      ? { code: this.fail.code, stdout: "", stderr: this.fail.stderr }
      : { code: 0, stdout: "", stderr: "" };
  }
}

describe("command runner", () => {
  it("runs an argv without a shell and returns its output", async () => {
    const r = await new ProcessRunner().run([process.execPath, "-e", "process.stdout.write('$HOME')"]);
    assert.equal(r.stdout, "$HOME");
  });

  it("a non-zero exit throws with the command and stderr", async () => {
    const argv = [process.execPath, "-e", "process.stderr.write('boom'); process.exit(3)"];
    await assert.rejects(new ProcessRunner().run(argv), (e: unknown) => {
      assert.ok(e instanceof EmulationError);
      assert.match(e.message, /exit code 3: boom/);
      assert.deepEqual(e.argv, argv);
      assert.equal(e.stderr, "boom");
      return true;
    });
  });

  it("check: false returns the exit code instead", async () => {
    const r = await new ProcessRunner().run([process.execPath, "-e", "process.exit(4)"], { check: false });
    assert.equal(r.code, 4);
  });

  it("a missing program is an EmulationError", async () => {
    await assert.rejects(new ProcessRunner().run(["/nonexistent/tool"]), /cannot start/);
  });

  it("verbose mode logs the command and the batch lines", async () => {
    const lines: string[] = [];
    await new ProcessRunner({ verbose: true, log: (l) => lines.push(l) }).run([process.execPath, "-e", ""], {
      input: "a b\n",
    });
    assert.deepEqual(lines, [`+ ${process.execPath} -e `, "  | a b"]);
  });

  it("a batch goes to one process on stdin", async () => {
    const fake = new FakeRunner();
    await runBatch(fake, "ip", "ns", [
      ["link", "set", "dev", "lo", "up"],
      ["route", "show"],
    ]);
    assert.deepEqual(fake.calls, [
      { argv: ["ip", "-n", "ns", "-batch", "-"], input: "link set dev lo up\nroute show\n" },
    ]);
  });

  it("a failing batch names the failing line", async () => {
    const fake = new FakeRunner({ code: 1, stderr: "RTNETLINK answers: File exists\nCommand failed -:2" });
    await assert.rejects(
      runBatch(fake, "ip", "ns", [
        ["link", "set", "dev", "lo", "up"],
        ["addr", "add", "10.0.0.1/32", "dev", "lo"],
      ]),
      (e: unknown) => {
        assert.ok(e instanceof EmulationError);
        assert.match(
          e.message,
          /^ip -n ns addr add 10.0.0.1\/32 dev lo: exit code 1: RTNETLINK answers: File exists/,
        );
        return true;
      },
    );
  });

  it("parallel keeps item order, bounds concurrency and runs every item before throwing", async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    const work = async (x: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5 - x));
      inFlight--;
      done.push(x);
      if (x === 1) throw new Error("one");
      return x * 10;
    };
    assert.deepEqual(await parallel([0, 2, 3, 4], work, 2), [0, 20, 30, 40]);
    assert.equal(peak, 2);
    done.length = 0;
    await assert.rejects(parallel([0, 1, 2, 3], work, 2), /one/);
    assert.equal(done.length, 4);
  });
});
