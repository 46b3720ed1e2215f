/** The persona repository's default file, relative to the working directory (as results directories are). */
export const DEFAULT_PERSONA_DB = "results/personas.db";
