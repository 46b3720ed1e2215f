/**
 * `topocast persona learn|list|show|diff|export|import`: learned application personas in the repository
 * (experiments/personas/repository.ts; `--db`, default results/personas.db). Handlers load on use.
 */
import type { Argv } from "yargs";
import { DEFAULT_PERSONA_DB } from "../personas/default-db.ts";
import { checkInt, configOptions } from "./options.ts";

const commands = () => import("../personas/persona-command.ts");

/** Adds `persona` and its subcommands. */
export function addPersona<T>(y: Argv<T>): Argv<T> {
  return y.command("persona", "Learn, store and inspect application personas (issue 14)", (y) =>
    y
      .option("db", {
        type: "string",
        default: DEFAULT_PERSONA_DB,
        describe: "Persona repository (SQLite file)",
      })
      .option("json", { type: "boolean", default: false, describe: "Print JSON" })
      .command(
        "learn <config>",
        "Run the config's applications in the simulator, learn each one's persona and store it as a new version",
        (z) =>
          configOptions(z)
            .option("window", {
              type: "string",
              describe: 'Learning window: "<end>" from 0 or "<start>..<end>" (default: the whole run)',
            })
            .option("policy", {
              type: "string",
              describe: "Policy label of the learning run (default: the first)",
            })
            .option("run", { type: "number", default: 0, describe: "Replication number (0-based)" })
            .option("engine", {
              choices: ["sim", "emulate"] as const,
              default: "sim" as const,
              describe: "Engine of the learning run (emulate: Linux namespaces, root)",
            })
            .option("source", {
              choices: ["agents", "conntrack"] as const,
              default: "agents" as const,
              describe:
                "With --engine emulate, learn from the agents' flow reports or from the connections the kernel's conntrack saw",
            })
            .example("$0 persona learn experiments/configs/applications.yaml", "learn and store")
            .example(
              "sudo $0 persona learn experiments/configs/persona-learn.yaml --engine emulate --source conntrack",
              "learn from the connections a real host sees",
            )
            .example(
              "$0 persona learn apps.yaml --window 10s..70s --db /tmp/p.db",
              "a window, another repository",
            ),
        async (a) => {
          checkInt("run", a.run, 0);
          await (await commands()).personaLearn(a.config, {
            db: a.db,
            set: a.set,
            run: a.run,
            json: a.json,
            engine: a.engine,
            source: a.source,
            ...(a.seed === undefined ? {} : { seed: a.seed }),
            ...(a.window === undefined ? {} : { window: a.window }),
            ...(a.policy === undefined ? {} : { policy: a.policy }),
          });
        },
      )
      .command(
        "list",
        "Every application's latest persona version",
        (z) => z.example("$0 persona list --db /tmp/p.db", "the applications of another repository"),
        async (a) => (await commands()).personaList(a.db, a.json),
      )
      .command(
        "show <app>",
        "An application's persona as JSON (the latest, or --at a version)",
        (z) =>
          z
            .positional("app", { type: "string", demandOption: true })
            .option("at", { type: "number", describe: "Version to show (default: the latest)" })
            .example("$0 persona show trading --at 1", "version 1 of trading's persona"),
        async (a) => {
          checkInt("at", a.at, 1);
          (await commands()).personaShow(a.db, a.app, a.at);
        },
      )
      .command(
        "diff <app>",
        "Fields changed from an earlier version (default: the previous one) to the latest",
        (z) =>
          z
            .positional("app", { type: "string", demandOption: true })
            .option("against", { type: "number", describe: "Version to compare the latest with" })
            .example("$0 persona diff trading", "the previous version against the latest")
            .example("$0 persona diff trading --against 1 --json", "version 1 against the latest, as JSON"),
        async (a) => {
          checkInt("against", a.against, 1);
          (await commands()).personaDiff(a.db, a.app, a.against, a.json);
        },
      )
      .command(
        "export",
        "Every version of the applications (all by default) as a JSON array",
        (z) =>
          z
            .option("app", {
              type: "string",
              array: true,
              default: [] as string[],
              describe: "Application, repeatable",
            })
            .option("out", { type: "string", describe: "File to write (default: stdout)" })
            .example("$0 persona export --app game --out game.json", "every version of game"),
        async (a) => (await commands()).personaExport(a.db, a.app, a.out),
      )
      .command(
        "import <file>",
        "Add the persona documents of a JSON file (one or an array), keeping their versions",
        (z) =>
          z
            .positional("file", { type: "string", demandOption: true })
            .example("$0 persona import game.json --db /tmp/p.db", "into another repository"),
        async (a) => (await commands()).personaImport(a.db, a.file),
      )
      .demandCommand(1, "persona: name a subcommand (learn, list, show, diff, export, import)"),
  );
}
