#!/usr/bin/env node
// The `topocast` command: runs the TypeScript CLI through tsx's loader (no build step).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../experiments/cli.ts");
await main();
