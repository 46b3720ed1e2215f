/**
 * Batches of the verb calls made in one turn of the event loop, one `ip`/`tc` request per namespace and tool.
 *
 * A policy's apply issues its calls together (models/policies/persona.ts `applyChanges`: a phase's calls in one
 * turn), and each call used to send its own request (or two or three) down the namespace's command channel
 * (emulate/channels.ts), each waiting behind the others for the channel's process and for CPU. Measured on
 * personas-emulate-loaded at load average 8-10 on 2 cores: setQos 35 ms median per call with a request per call
 * and namespace, 17 ms with one per namespace. The channels run `-force` batches (every line tried), so the calls
 * stay independent: each settles by its own lines, rejecting with the first that failed (as
 * {@link VerbCommands.batch} does), while lines queued as unchecked never fail anyone.
 */
import type { BatchTool, VerbCommands } from "./channels.ts";
import type { Cmd } from "./commands.ts";
import { EmulationError } from "./errors.ts";
import { parallel } from "./runner.ts";

/** A call's lines in one request, and how its promise settles. */
interface Queued {
  cmds: readonly Cmd[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** What the calls of one turn queued for one tool in one namespace: unchecked lines first, then the calls'. */
interface Request {
  tool: BatchTool;
  ns: string;
  unchecked: Cmd[];
  calls: Queued[];
}

export class TurnBatches {
  /** The requests of the current turn, by tool and namespace. */
  private turn: Map<string, Request> | undefined;

  constructor(private readonly commands: () => VerbCommands) {}

  /**
   * Runs `cmds` with `tool` in namespace `ns` after `unchecked` (failures ignored; a line queued twice in a turn
   * runs once), in the turn's one request for that tool and namespace. Resolves when the request has run;
   * rejects with an EmulationError naming the first of `cmds` that failed.
   */
  run(tool: BatchTool, ns: string, cmds: readonly Cmd[], unchecked: readonly Cmd[] = []): Promise<void> {
    if (!this.turn) {
      const turn = new Map<string, Request>();
      this.turn = turn;
      setImmediate(() => {
        this.turn = undefined;
        void this.flush(turn);
      });
    }
    const key = `${tool} ${ns}`;
    let q = this.turn.get(key);
    if (!q) {
      q = { tool, ns, unchecked: [], calls: [] };
      this.turn.set(key, q);
    }
    const seen = new Set(q.unchecked.map((x) => x.join(" ")));
    q.unchecked.push(...unchecked.filter((x) => !seen.has(x.join(" "))));
    const req = q;
    return new Promise((resolve, reject) => req.calls.push({ cmds, resolve, reject }));
  }

  private async flush(turn: ReadonlyMap<string, Request>): Promise<void> {
    await parallel([...turn.values()], async (q) => {
      let failed: (string | null)[];
      try {
        failed = await this.commands().batchEach(q.tool, q.ns, [
          ...q.unchecked,
          ...q.calls.flatMap((c) => c.cmds),
        ]);
      } catch (e) {
        for (const c of q.calls) c.reject(e);
        return;
      }
      let at = q.unchecked.length;
      for (const c of q.calls) {
        const i = failed.slice(at, at + c.cmds.length).findIndex((f) => f !== null);
        const cmd = c.cmds[i];
        if (cmd === undefined) c.resolve();
        else
          c.reject(
            new EmulationError(
              `${q.tool} -n ${q.ns} ${cmd.join(" ")}: ${failed[at + i]}`,
              [q.tool, "-n", q.ns, ...cmd],
              failed[at + i]!,
            ),
          );
        at += c.cmds.length;
      }
    });
  }
}
