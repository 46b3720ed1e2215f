#!/usr/bin/env bash
# Snapshot results/snapshots/personas-emulate-loaded (issue 14: the emulator's sign on a congested config it can
# carry). From the repository root; the emulation needs root (sudo -E keeps TOPOCAST_SHARED_DATA). Small files only:
# sim/ is `topocast run`; emu/ one `emulate --with-sim` (emu/as-emulated.summary.json: the simulator beside it, with
# the emulator's segments); emu-c1/ the same without time dilation (links at 1/10, as personas-emulate.yaml).
set -euo pipefail
cfg=experiments/configs/personas-emulate-loaded.yaml
snap=results/snapshots/personas-emulate-loaded
keep() { # keep <run dir> <snapshot subdir>
  mkdir -p "$snap/$2"
  cp "$1"/{config.json,manifest.json,summary.json,actions.csv} "$snap/$2/"
  if [ -f "$1/sim-vs-emulation.csv" ]; then
    cp "$1"/sim-vs-emulation.{csv,json} "$snap/$2/"
    cp results/personas-emulate-loaded/seed11-run0-as-emulated/summary.json "$snap/$2/as-emulated.summary.json"
  fi
}
npx topocast run "$cfg" --no-report --out /tmp/pel-sim && keep /tmp/pel-sim sim
sudo -E npx topocast emulate "$cfg" --with-sim --no-report --out /tmp/pel-emu && keep /tmp/pel-emu emu
sudo -E npx topocast emulate "$cfg" --with-sim --no-report --out /tmp/pel-emu-c1 \
  --set emulation.rateScale=0.1 --set emulation.timeCompression=1 --set emulation.drain=5s && keep /tmp/pel-emu-c1 emu-c1
# The table: p99 FCT of the latency applications, transfer rate of the bulk ones, per policy (summary.json applications).
node "$snap/table.mjs" "$snap"/sim/summary.json "$snap"/emu/{summary,as-emulated.summary}.json "$snap"/emu-c1/{summary,as-emulated.summary}.json
