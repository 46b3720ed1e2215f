/**
 * The intent mesh's requests joined across engines (experiments/sim-vs-emulation/requests.ts): two small
 * requests.csv files, one client, four requests: met in both, missed only in the emulator on the same path, missed
 * only in the emulator on another path, missed only in the simulator; an unfinished one is left out.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REQUESTS_CSV_HEADER } from "../../experiments/intent-satisfaction.ts";
import { compareRequests, requestComparisonCsv } from "../../experiments/sim-vs-emulation/requests.ts";

const row = (flow: number, latencyNs: number, bps: number, path: string, misses: string, fct = "1000") =>
  `p,5,svc-web,"service=web, latency<=10ns",${flow},0,100,${fct},${latencyNs},${bps},${path.split("-").at(-2)},${path},true,true,0,${misses}`;

describe("requests joined across engines", () => {
  const dir = mkdtempSync(join(tmpdir(), "topocast-requests-"));
  const sim = join(dir, "sim.csv");
  const emu = join(dir, "emu.csv");
  writeFileSync(
    sim,
    [
      REQUESTS_CSV_HEADER,
      row(1, 8, 100, "5-8-svc-web", ""),
      row(2, 9, 100, "5-8-svc-web", ""),
      row(3, 9, 100, "5-8-svc-web", ""),
      row(4, 12, 50, "5-8-svc-web", "latency"),
      row(5, 9, 100, "5-8-svc-web", ""),
    ].join("\n"),
  );
  writeFileSync(
    emu,
    [
      REQUESTS_CSV_HEADER,
      row(1, 9, 90, "5-8-svc-web", ""),
      row(2, 11, 80, "5-8-svc-web", "latency"),
      row(3, 14, 100, "5-4-6-svc-web", "latency"),
      row(4, 10, 50, "5-8-svc-web", ""),
      row(5, 0, 0, "5-8-svc-web", "unfinished", ""),
    ].join("\n"),
  );
  const [c] = compareRequests(sim, emu);

  const cases: [string, keyof NonNullable<typeof c>, unknown][] = [
    ["requests in both, finished", "requests", 4],
    ["missed in the simulator", "simMissed", 1],
    ["missed in the emulator", "emuMissed", 2],
    ["emulator only, same path", "emuOnlySamePath", 1],
    ["emulator only, another path", "emuOnlyOtherPath", 1],
    ["simulator only, same path", "simOnlySamePath", 1],
    ["on the same path", "samePath", 3],
    ["median latency difference (1, 2, -2)", "medianLatencyDiffNs", 1],
    ["median throughput ratio (0.9, 0.8, 1)", "medianThroughputRatio", 0.9],
  ];
  for (const [what, key, want] of cases) {
    it(`counts ${what}`, () => {
      assert.equal(c?.[key], want);
    });
  }

  it("writes one CSV row per policy and client", () => {
    const lines = requestComparisonCsv(compareRequests(sim, emu)).trim().split("\n");
    assert.equal(lines.length, 2);
    assert.equal(lines[1], "p,5,svc-web,4,1,2,1,1,1,0,3,1,0.9");
  });
});
