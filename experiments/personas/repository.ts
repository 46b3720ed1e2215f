/**
 * The persona repository: learned personas (models/personas/profile.ts), persistent and shared by runs, in one
 * SQLite file (better-sqlite3 12.x; synchronous, one connection per process; WAL so readers and a writer can share
 * the file). One row per (application, version): versions count 1, 2, ... per application and are assigned by
 * {@link PersonaRepository.store}; documents are stored as their JSON text and read back through `parsePersona`,
 * so a stale or damaged row is refused with the field at fault, never returned half-typed.
 *
 * Default location: results/personas.db under the working directory (results/ is not tracked by git); commands
 * take `--db <path>`.
 *
 * Export/import: JSON arrays of documents. Import keeps each document's version: a free (app, version) slot is
 * filled, an identical document already there is skipped (import is idempotent), a different one is a conflict.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { type Persona, PersonaError, parsePersona } from "../../models/personas/profile.ts";
import { DEFAULT_PERSONA_DB } from "./default-db.ts";

export { DEFAULT_PERSONA_DB };

/** One stored version of an application's persona, without the document. */
export interface PersonaVersion {
  app: string;
  version: number;
  versionHash: string;
  engine: string;
  run: string;
  learnedAt: string;
}

/** An application in the repository: its latest version and how many it has. */
export interface PersonaSummary extends PersonaVersion {
  versions: number;
}

/** What an import did: documents added and identical ones skipped. */
export interface ImportResult {
  added: PersonaVersion[];
  skipped: PersonaVersion[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS personas (
  app TEXT NOT NULL,
  version INTEGER NOT NULL,
  version_hash TEXT NOT NULL,
  engine TEXT NOT NULL,
  run TEXT NOT NULL,
  learned_at TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (app, version)
) STRICT;`;

interface Row {
  app: string;
  version: number;
  version_hash: string;
  engine: string;
  run: string;
  learned_at: string;
  document: string;
}

/** Persona versions in a SQLite file. Close it when done. */
export class PersonaRepository {
  private readonly db: Database.Database;

  /**
   * Opens (and creates, with its folder) the repository at `path` (":memory:" for a throwaway one).
   * @throws PersonaError naming the path when the file cannot be opened or is not a persona repository.
   */
  constructor(readonly path: string = DEFAULT_PERSONA_DB) {
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma("journal_mode = WAL");
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new PersonaError(`${path}: cannot open the persona repository: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Stores a persona as its application's next version (the document's own `version` is replaced).
   * @returns the stored document, with its version.
   * @throws PersonaError when the document is invalid (field path named).
   */
  store(doc: Persona): Persona {
    const checked = parsePersona(doc, `persona of ${JSON.stringify(doc.application?.name)}`);
    const put = this.db.transaction((d: Persona) => {
      const next = this.latestVersion(d.application.name) + 1;
      const stored = { ...d, version: next };
      this.insert(stored);
      return stored;
    });
    return put(checked);
  }

  /** The latest version of an application's persona; undefined when it has none. */
  latest(app: string): Persona | undefined {
    const row = this.db
      .prepare<[string], Row>("SELECT * FROM personas WHERE app = ? ORDER BY version DESC LIMIT 1")
      .get(app);
    return row && this.read(row);
  }

  /** One version of an application's persona; undefined when absent. */
  get(app: string, version: number): Persona | undefined {
    const row = this.db
      .prepare<[string, number], Row>("SELECT * FROM personas WHERE app = ? AND version = ?")
      .get(app, version);
    return row && this.read(row);
  }

  /** Every version of an application, oldest first. */
  versions(app: string): PersonaVersion[] {
    return this.db
      .prepare<[string], Row>("SELECT * FROM personas WHERE app = ? ORDER BY version")
      .all(app)
      .map(versionOf);
  }

  /** Every application with its latest version, sorted by name. */
  list(): PersonaSummary[] {
    const rows = this.db
      .prepare<[], Row & { n: number }>(
        `SELECT p.*, c.n FROM personas p
         JOIN (SELECT app, MAX(version) AS v, COUNT(*) AS n FROM personas GROUP BY app) c
           ON p.app = c.app AND p.version = c.v
         ORDER BY p.app`,
      )
      .all();
    return rows.map((r) => ({ ...versionOf(r), versions: r.n }));
  }

  /** Documents to export: every version of the named apps (all apps when none), by app then version. */
  exportDocuments(apps: readonly string[] = []): Persona[] {
    const rows = this.db.prepare<[], Row>("SELECT * FROM personas ORDER BY app, version").all();
    return rows.filter((r) => apps.length === 0 || apps.includes(r.app)).map((r) => this.read(r));
  }

  /**
   * Imports documents (a JSON array, or one document) keeping their versions (see the module doc), all or none.
   * @param source where the text came from, for messages.
   * @throws PersonaError naming `source[i]` and the field for a bad or stale document, or the conflicting version.
   */
  importDocuments(text: string, source: string): ImportResult {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new PersonaError(`${source}: not JSON: ${(e as Error).message}`);
    }
    const docs = (Array.isArray(value) ? value : [value]).map((v, i) =>
      parsePersona(v, Array.isArray(value) ? `${source}[${i}]` : source),
    );
    const result: ImportResult = { added: [], skipped: [] };
    this.db.transaction(() => {
      docs.forEach((d, i) => {
        const there = this.db
          .prepare<[string, number], Row>("SELECT * FROM personas WHERE app = ? AND version = ?")
          .get(d.application.name, d.version);
        const v = versionOf(rowOf(d));
        if (!there) {
          this.insert(d);
          result.added.push(v);
        } else if (there.document === JSON.stringify(d)) {
          result.skipped.push(v);
        } else {
          throw new PersonaError(
            `${source}[${i}]: ${d.application.name} version ${d.version} is already in ${this.path} with a different document; import into another repository or remove that version first`,
          );
        }
      });
    })();
    return result;
  }

  private latestVersion(app: string): number {
    const r = this.db
      .prepare<[string], { v: number | null }>("SELECT MAX(version) AS v FROM personas WHERE app = ?")
      .get(app);
    return r?.v ?? 0;
  }

  private insert(d: Persona): void {
    this.db
      .prepare<[Row]>(
        `INSERT INTO personas (app, version, version_hash, engine, run, learned_at, document)
         VALUES (@app, @version, @version_hash, @engine, @run, @learned_at, @document)`,
      )
      .run(rowOf(d));
  }

  private read(row: Row): Persona {
    return parsePersona(row.document, `${this.path}: ${row.app} version ${row.version}`);
  }
}

function rowOf(d: Persona): Row {
  return {
    app: d.application.name,
    version: d.version,
    version_hash: d.application.versionHash,
    engine: d.provenance.engine,
    run: d.provenance.run,
    learned_at: d.provenance.learnedAt,
    document: JSON.stringify(d),
  };
}

function versionOf(r: Row): PersonaVersion {
  return {
    app: r.app,
    version: r.version,
    versionHash: r.version_hash,
    engine: r.engine,
    run: r.run,
    learnedAt: r.learned_at,
  };
}
