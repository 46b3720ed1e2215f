/** `topocast predict`: forecasters evaluated walk-forward on a traffic-matrix series. */
import type { Argv } from "yargs";

/** Adds `predict`. */
export function addPredict<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "predict",
    "Evaluate forecasters on a traffic-matrix series (walk-forward MSE/MAE/NMAE, 1..H steps ahead)",
    (y) =>
      y
        .option("tm", {
          type: "string",
          demandOption: true,
          describe: "SNDlib directory of demandMatrix-*.xml files, or a CSV time_s,src,dst,rate_bps",
        })
        .option("train", {
          type: "string",
          default: "0.7",
          describe: "Training part: a fraction in (0, 1) or a date/label where the test part starts",
        })
        .option("predictors", {
          type: "string",
          default: "lv,ma,ewma,hw,lstm",
          describe: "Comma-separated names",
        })
        .option("series", {
          choices: ["pairs", "links", "apps"] as const,
          default: "pairs" as const,
          describe:
            "What to forecast: each ordered pair's rate, each directed link's offered utilization (least-delay paths over --topology), or each application pair's offered rate (--tm is then a run's profile.csv)",
        })
        .option("policy", {
          type: "string",
          describe:
            "For --series apps: the policy in profile.csv whose intervals to read (default the first)",
        })
        .option("topology", {
          type: "string",
          describe:
            "Topology (SNDlib .xml, Zoo .graphml or a bundled name) for --series links; its node ids are the series'",
        })
        .option("horizon", { type: "number", default: 3, describe: "Steps ahead (intervals)" })
        .option("period", { type: "number", describe: "Season in intervals for seasonal-naive and hw" })
        .option("seed", { type: "number", default: 1 })
        .option("lstm", {
          type: "string",
          describe:
            "LSTM settings key=value,... (LstmConfig), e.g. seasonalLag=288,timeFeatures=true,epochs=8,windowsPerEpoch=4096",
        })
        .option("linear", {
          type: "string",
          describe: "Linear model settings key=value,... (LinearConfig), e.g. seasonalLag=288,window=36",
        })
        .option("references", {
          type: "string",
          describe:
            "Comma-separated predictors the others are tested against per horizon (Diebold-Mariano; the best of them), e.g. lv,ewma,ma,linear (default every simple forecaster)",
        })
        .option("save-models", {
          type: "string",
          describe: "Save each trained deep model (lstm, transformer) to <dir>/<name>",
        })
        .option("load-models", {
          type: "string",
          describe:
            "Load each deep model from <dir>/<name> (as --save-models wrote it) instead of training it",
        })
        .option("transformer", {
          type: "string",
          describe: "Transformer settings key=value,... (TransformerConfig), e.g. seasonalLag=288,epochs=8",
        })
        .option("out", { type: "string", default: "results/predict", describe: "Output directory" })
        .example(
          "$0 predict --tm ../shared/data/traffic-matrices/sndlib-abilene-5min --train 2004-03-06 --predictors lv,ewma,hw,lstm",
          "the Abilene week: 5 days train, 2 days test",
        )
        .example(
          "$0 predict --tm ../shared/data/traffic-matrices/sndlib-abilene-5min --series links --topology ../shared/data/topologies/sndlib/abilene.xml --predictors lv,ewma,lstm",
          "forecast Abilene's link utilizations (what mirroring and intent routing predict)",
        ),
    async (args) => {
      await (await import("../predict-command.ts")).predictCommand({
        tm: args.tm,
        train: args.train,
        predictors: args.predictors,
        horizon: args.horizon,
        out: args.out,
        seed: args.seed,
        series: args.series,
        ...(args.policy !== undefined ? { policy: args.policy } : {}),
        ...(args.topology !== undefined ? { topology: args.topology } : {}),
        ...(args.period !== undefined ? { period: args.period } : {}),
        ...(args.lstm !== undefined ? { lstm: args.lstm } : {}),
        ...(args.transformer !== undefined ? { transformer: args.transformer } : {}),
        ...(args.linear !== undefined ? { linear: args.linear } : {}),
        ...(args.references !== undefined ? { references: args.references } : {}),
        ...(args["save-models"] !== undefined ? { saveModels: args["save-models"] } : {}),
        ...(args["load-models"] !== undefined ? { loadModels: args["load-models"] } : {}),
      });
    },
  );
}
