/**
 * Saving and loading tfjs layers models to a directory with node:fs, in the tfjs format (`model.json` with the
 * topology, weights manifest and user metadata, next to `weights.bin`), which is what `tf.io.fileSystem` of
 * `@tensorflow/tfjs-node` writes. Plain `@tensorflow/tfjs` has no `file://` handler, hence this one. Both files
 * are written atomically, `weights.bin` first, so a reader never sees a `model.json` without its weights.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { io } from "@tensorflow/tfjs";
import { writeFileAtomic } from "../../sim/io/atomic-write.ts";
import { PredictorError } from "./predictor.ts";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/**
 * tfjs, imported when a model is saved or loaded: importing it costs about half a second of start-up, which every
 * command that merely reads a config (and so the predictor registry) would otherwise pay.
 */
const tfjs = () => import("@tensorflow/tfjs");

/** An IOHandler that saves to and loads from `dir`. */
export function directoryHandler(dir: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const tf = await tfjs();
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new PredictorError(`${dir}: cannot save a binary model topology`);
      }
      const weights =
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      writeFileAtomic(join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      writeFileAtomic(join(dir, MODEL_JSON), `${JSON.stringify(modelJson, null, 2)}\n`);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(0),
          modelTopologyType: "JSON",
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },

    async load(): Promise<io.ModelArtifacts> {
      const tf = await tfjs();
      const { json } = readModelJson(dir);
      const manifest = json.weightsManifest;
      const specs = manifest.flatMap((g) => g.weights);
      const data = manifest.flatMap((g) =>
        g.paths.map((p) => {
          const path = join(dir, p);
          if (!existsSync(path))
            throw new PredictorError(`${dir}: ${MODEL_JSON} names weights file ${p}, not found`);
          const buf = readFileSync(path);
          return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
        }),
      );
      const artifacts: io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: tf.io.CompositeArrayBuffer.join(data),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      };
      if (json.trainingConfig) artifacts.trainingConfig = json.trainingConfig;
      if (json.userDefinedMetadata) artifacts.userDefinedMetadata = json.userDefinedMetadata;
      return artifacts;
    },
  };
}

/** Reads and checks `<dir>/model.json`. @throws PredictorError naming the file when absent or malformed. */
export function readModelJson(dir: string): { path: string; json: io.ModelJSON } {
  const path = join(dir, MODEL_JSON);
  if (!existsSync(path)) throw new PredictorError(`${path}: no saved model here (${MODEL_JSON} not found)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new PredictorError(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const j = json as Partial<io.ModelJSON> | null;
  if (
    j === null ||
    typeof j !== "object" ||
    j.modelTopology === undefined ||
    !Array.isArray(j.weightsManifest)
  ) {
    throw new PredictorError(`${path}: expected a tfjs model.json with modelTopology and weightsManifest`);
  }
  return { path, json: j as io.ModelJSON };
}
