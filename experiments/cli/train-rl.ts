/** `topocast train-rl`: trains the RL mesh's path agent in the simulator (experiments/train-rl.ts). */
import type { Argv } from "yargs";
import { CliInputError, checkInt, configOptions } from "./options.ts";

/** Adds `train-rl`. */
export function addTrainRl<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "train-rl <config>",
    "Train the rl-mesh path agent over simulator episodes; write its model file and training curve",
    (y) =>
      configOptions(y)
        .option("out", { type: "string", demandOption: true, describe: "Model file to write (.json)" })
        .option("episodes", {
          type: "number",
          default: 10,
          describe: "Simulator runs (episode e = replication e)",
        })
        .option("epsilon", { type: "number", describe: "Exploration probability while training" })
        .option("fresh", {
          type: "boolean",
          default: false,
          describe:
            "Start from an untrained agent, ignoring the rl-mesh entry's model (a reproducible retrain)",
        })
        .example(
          "$0 train-rl experiments/configs/sidecar-mesh.yaml --set workload.window.start=86h --out model.json",
          "train on the day before the evaluation window",
        ),
    async (args) => {
      checkInt("seed", args.seed, 0);
      checkInt("episodes", args.episodes, 1);
      if (args.epsilon !== undefined && !(args.epsilon >= 0 && args.epsilon <= 1)) {
        throw new CliInputError(`--epsilon: expected a probability in [0, 1], got ${args.epsilon}`);
      }
      const { loadConfig } = await import("../config/load.ts");
      const { trainRl } = await import("../train-rl.ts");
      const loaded = loadConfig(args.config, {
        set: args.set,
        ...(args.seed !== undefined ? { seed: args.seed } : {}),
      });
      const outcome = await trainRl(loaded, {
        out: args.out,
        episodes: args.episodes,
        fresh: args.fresh,
        ...(args.epsilon !== undefined ? { epsilon: args.epsilon } : {}),
        log: (line) => console.error(line),
      });
      console.log(`model: ${outcome.model}\ncurve: ${outcome.curve}`);
    },
  );
}
