/**
 * The simulation an emulation is compared with runs TCP start-up with the emulator's segments in simulated bytes
 * (packets do not scale: 1448 emulated bytes are 1448 x timeCompression / rateScale simulated bytes).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings, simulatorBeside } from "../../experiments/emulate-experiment.ts";

function config(extra: string): string {
  return `name: beside
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 2ms}
workload:
  tm: {kind: uniform}
  window: {duration: 1s}
policies:
  - name: shortest-path
${extra}`;
}

describe("the simulator beside an emulation", () => {
  const cases: [string, string, string | null, string][] = [
    ["no scaling keeps the configured segment", "", null, "results/beside/seed1-run0"],
    [
      "rateScale 0.05 makes a segment 20 times larger",
      "emulation: {rateScale: 0.05}",
      "28960B",
      "-as-emulated",
    ],
    [
      "rateScale 0.001 and timeCompression 0.1 make it 100 times larger",
      "emulation: {rateScale: 0.001, timeCompression: 0.1}",
      "144800B",
      "-as-emulated",
    ],
    [
      "a smaller MSS scales too",
      "emulation: {rateScale: 0.5}\ntransport: {tcp: {mss: 1000B}}",
      "2000B",
      "-as-emulated",
    ],
    [
      "without TCP start-up there is nothing to scale",
      "emulation: {rateScale: 0.05}\ntransport: {tcp: false}",
      null,
      "seed1-run0",
    ],
  ];
  for (const [name, extra, mss, dirEnd] of cases) {
    test(name, () => {
      const loaded = parseConfig(config(extra), "beside.yaml", ".");
      const b = simulatorBeside(loaded, emulationSettings(loaded.config));
      const tcp = b.loaded.config.transport.tcp;
      if (mss === null) {
        assert.equal(b.loaded, loaded);
        assert.equal(b.note, null);
      } else {
        assert.ok(tcp !== false);
        assert.equal(tcp.mss, mss);
        assert.match(b.note ?? "", /packets do not scale/);
      }
      assert.ok(b.dir(0).endsWith(dirEnd), b.dir(0));
    });
  }
});
