/**
 * Exports the config schema as JSON Schema (draft 2020-12) for editors: experiments/topocast.schema.json, which
 * configs reference with `# yaml-language-server: $schema=../topocast.schema.json`.
 *
 * `npm run schema` rewrites the file (then formats it with Biome, as `npm test` lints it); a test fails when the
 * committed file's content differs from the schema.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { ExperimentSchema } from "./schema.ts";

/** Where the schema file lives. */
export const SCHEMA_FILE: string = fileURLToPath(new URL("../topocast.schema.json", import.meta.url));

/** The JSON Schema text (input side: quantities as strings, defaults shown), with a trailing newline. */
export function jsonSchemaText(): string {
  const schema = z.toJSONSchema(ExperimentSchema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  });
  return `${JSON.stringify({ ...schema, $id: "https://topocast.dev/schema/experiment.json" }, null, 2)}\n`;
}

/** Writes a JSON Schema file and formats it with Biome (as `npm test` lints it); sets the exit code on failure. */
export function writeSchemaFile(file: string, text: string): void {
  writeFileSync(file, text);
  const biome = spawnSync("npx", ["biome", "format", "--write", file], { stdio: "inherit" });
  if (biome.status !== 0) process.exitCode = 1;
  console.log(`wrote ${file}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeSchemaFile(SCHEMA_FILE, jsonSchemaText());
}
