/**
 * Exports the persona document's schema (models/personas/profile.ts) as JSON Schema (draft 2020-12):
 * experiments/persona.schema.json, for editors and for tools that read or write personas outside topocast.
 *
 * `npm run schema` rewrites it (with the config schema) and formats it with Biome; a test fails when the
 * committed file's content differs from the schema.
 */
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { PersonaSchema } from "../../models/personas/profile.ts";
import { writeSchemaFile } from "../config/json-schema.ts";

/** Where the persona schema file lives. */
export const PERSONA_SCHEMA_FILE: string = fileURLToPath(new URL("../persona.schema.json", import.meta.url));

/** The persona JSON Schema text, with a trailing newline. */
export function personaSchemaText(): string {
  const schema = z.toJSONSchema(PersonaSchema, { io: "input", target: "draft-2020-12" });
  return `${JSON.stringify({ ...schema, $id: "https://topocast.dev/schema/persona.json" }, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeSchemaFile(PERSONA_SCHEMA_FILE, personaSchemaText());
}
