import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { PersonaRepository } from "../../../experiments/personas/repository.ts";
import { PersonaError } from "../../../models/personas/profile.ts";
import { DELETE, edited, gamePersona } from "../../models/personas/fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-personas-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = () => new PersonaRepository(join(dir, `sub${files}`, `r${files++}.db`));

describe("the persona repository (SQLite)", () => {
  it("stores versions 1, 2, ... per application and returns the latest or a given one", () => {
    const repo = fresh();
    const a = repo.store(gamePersona({ version: 42 }));
    const b = repo.store(gamePersona({ application: { name: "game", versionHash: "v1.5" } }));
    const c = repo.store(gamePersona({ application: { name: "chat", versionHash: "x" } }));
    assert.deepEqual([a.version, b.version, c.version], [1, 2, 1]);
    assert.deepEqual(repo.latest("game"), b);
    assert.deepEqual(repo.get("game", 1), a);
    assert.equal(repo.get("game", 3), undefined);
    assert.equal(repo.latest("nobody"), undefined);
    assert.deepEqual(
      repo.versions("game").map((v) => [v.version, v.versionHash]),
      [
        [1, "v1.4.2"],
        [2, "v1.5"],
      ],
    );
    assert.deepEqual(
      repo.list().map((s) => [s.app, s.version, s.versions]),
      [
        ["chat", 1, 1],
        ["game", 2, 2],
      ],
    );
    repo.close();
  });

  it("keeps what it stored across connections (a file shared by runs)", () => {
    const repo = fresh();
    const stored = repo.store(gamePersona());
    repo.close();
    const again = new PersonaRepository(repo.path);
    assert.deepEqual(again.latest("game"), stored);
    again.close();
  });

  it("round-trips export and import into another repository, and re-importing is a no-op", () => {
    const src = fresh();
    src.store(gamePersona());
    src.store(gamePersona({ application: { name: "game", versionHash: "v2" } }));
    const text = JSON.stringify(src.exportDocuments());
    const dst = fresh();
    const first = dst.importDocuments(text, "game.json");
    assert.deepEqual(
      first.added.map((v) => `${v.app}@${v.version}`),
      ["game@1", "game@2"],
    );
    assert.deepEqual(dst.exportDocuments(), src.exportDocuments());
    const second = dst.importDocuments(text, "game.json");
    assert.deepEqual([second.added.length, second.skipped.length], [0, 2]);
    assert.deepEqual(src.exportDocuments(["chat"]), []);
    src.close();
    dst.close();
  });

  it("refuses an import whose version exists with another document, and imports none of its documents", () => {
    const repo = fresh();
    repo.store(gamePersona());
    const other = [
      gamePersona({ application: { name: "zeta", versionHash: "1" } }),
      gamePersona({ version: 1, application: { name: "game", versionHash: "other" } }),
    ];
    assert.throws(
      () => repo.importDocuments(JSON.stringify(other), "in.json"),
      /in\.json\[1\]: game version 1 is already in .* with a different document/,
    );
    assert.equal(repo.latest("zeta"), undefined);
    repo.close();
  });

  const bad: [string, string, RegExp][] = [
    [
      "a document with a bad field",
      JSON.stringify([gamePersona(), edited(gamePersona(), ["desired", "routing"], "cheapest")]),
      /^in\.json\[1\]: desired\.routing: got "cheapest"; allowed: "latency", "bandwidth"$/,
    ],
    [
      "a document without its application's name",
      JSON.stringify(edited(gamePersona(), ["application", "name"], DELETE)),
      /^in\.json: application\.name: got nothing \(missing\)/,
    ],
    [
      "a stale document",
      JSON.stringify([edited(gamePersona(), ["schemaVersion"], 0)]),
      /^in\.json\[0\]: schemaVersion: got 0, a stale or foreign document; this topocast reads schemaVersion 1/,
    ],
    ["text that is not JSON", "[{", /^in\.json: not JSON: /],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses to import ${what}, naming the document and field`, () => {
      const repo = fresh();
      assert.throws(
        () => repo.importDocuments(text, "in.json"),
        (e: unknown) => e instanceof PersonaError && message.test(e.message),
      );
      assert.deepEqual(repo.list(), []);
      repo.close();
    });
  }

  it("refuses to store an invalid document, naming the field", () => {
    const repo = fresh();
    const doc = edited(gamePersona(), ["desired", "qos", "priority"], -1) as ReturnType<typeof gamePersona>;
    assert.throws(() => repo.store(doc), /persona of "game": desired\.qos\.priority: got -1;/);
    repo.close();
  });

  it("names a stale row it finds in the file, with the file, app, version and field", () => {
    const repo = fresh();
    repo.store(gamePersona());
    repo.close();
    const raw = new Database(repo.path);
    const doc = edited(gamePersona(), ["schemaVersion"], 0);
    raw.prepare("UPDATE personas SET document = ?").run(JSON.stringify(doc));
    raw.close();
    const again = new PersonaRepository(repo.path);
    assert.throws(
      () => again.latest("game"),
      (e: unknown) =>
        e instanceof PersonaError &&
        e.message.startsWith(
          `${repo.path}: game version 1: schemaVersion: got 0, a stale or foreign document`,
        ),
    );
    again.close();
  });

  it("refuses a file that is not a repository, naming the path", () => {
    assert.throws(
      () => new PersonaRepository(join(dir)),
      (e: unknown) =>
        e instanceof PersonaError && e.message.startsWith(`${dir}: cannot open the persona repository`),
    );
  });
});
