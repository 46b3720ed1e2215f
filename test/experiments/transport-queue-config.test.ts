/**
 * The config's `transport.queue` (fluid queues of the TCP-aware fluid model, sim/transport/fluid-queues.ts) in
 * engine units, its refusal of bad values, and the simulator beside an emulation counting a packet buffer in the
 * emulator's scaled frames.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings, simulatorBeside } from "../../experiments/emulate-experiment.ts";
import { transportSettings } from "../../experiments/scenario-control.ts";

function config(transport: string, extra = ""): string {
  return `name: queue
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 2ms}
workload:
  tm: {kind: uniform}
  window: {duration: 1s}
policies:
  - name: shortest-path
transport: ${transport}
${extra}`;
}

describe("transport.queue", () => {
  const cases: [string, string, unknown][] = [
    ["absent: no queues", "{}", null],
    ["false: no queues", "{queue: false}", null],
    ["packets", '{queue: "1000p"}', { packets: 1000 }],
    ["a queueing delay", "{queue: 10ms}", { delayNs: 10e6 }],
    ["bytes", "{queue: 1.5MB}", { bytes: 1.5e6 }],
  ];
  for (const [name, transport, expected] of cases) {
    test(`${name}`, () => {
      const loaded = parseConfig(config(transport), "queue.yaml", ".");
      assert.deepEqual(transportSettings(loaded.config.transport).queue, expected);
    });
  }

  for (const bad of ['"0p"', "fast", "0ms"]) {
    test(`a bad buffer is refused, naming the field: ${bad}`, () => {
      assert.throws(
        () => parseConfig(config(`{queue: ${bad}}`), "queue.yaml", "."),
        (e: Error) => e.message.includes("transport.queue") && !e.message.includes("    at "),
      );
    });
  }

  test("beside an emulation, a packet buffer holds the emulator's frames in simulated bytes", () => {
    const loaded = parseConfig(
      config('{queue: "100p"}', "emulation: {rateScale: 0.001, timeCompression: 0.1}"),
      "queue.yaml",
      ".",
    );
    const b = simulatorBeside(loaded, emulationSettings(loaded.config));
    assert.equal(b.loaded.config.transport.queue, "15140000B");
    assert.deepEqual(transportSettings(b.loaded.config.transport).queue, { bytes: 15_140_000 });
    assert.match(b.note ?? "", /100-packet buffers are 15140000 B/);
  });

  test("beside an emulation, a buffer in time needs no scaling", () => {
    const loaded = parseConfig(
      config("{queue: 10ms}", "emulation: {rateScale: 0.001, timeCompression: 0.1}"),
      "queue.yaml",
      ".",
    );
    const b = simulatorBeside(loaded, emulationSettings(loaded.config));
    assert.equal(b.loaded.config.transport.queue, "10ms");
  });
});
