/**
 * `topocast registry start|stop|register|discover|status|show`: the Resource Discovery & Intent service (issue 15)
 * against a running emulation (`topocast emulate up`). Each command talks to the DHT node of one namespace through
 * its daemon's socket (emulate/dht/daemons.ts); every DHT message travels the emulated links. Handlers load on use.
 */
import type { Argv } from "yargs";

const commands = () => import("../registry-command.ts");

const RUN = { type: "string", demandOption: true, describe: "Run id (from topocast emulate up)" } as const;

/** Adds `registry` and its subcommands. */
export function addRegistry<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "registry",
    "Register and discover resources on a running emulation's DHT (issue 15)",
    (y) => {
      const z = y.option("json", { type: "boolean", default: false, describe: "Print JSON" });
      return addShow(addStatus(addDiscover(addRegister(addStop(addStart(z)))))).demandCommand(
        1,
        "registry: name a subcommand (start, stop, register, discover, status, show)",
      );
    },
  );
}

function addStart<T extends { json: boolean }>(y: Argv<T>): Argv<T> {
  return y.command(
    "start <runId>",
    "Start one DHT node (bittorrent-dht) per namespace of a persistent run, bootstrapped from the run's nodes only",
    (z) =>
      z
        .positional("runId", RUN)
        .option("nodes", { type: "string", describe: "Comma-separated nodes (default: every node)" })
        .option("port", { type: "number", default: 16881, describe: "UDP port of every DHT node" })
        .example("$0 emulate up Abilene && $0 registry start <run>", "a registry on every Abilene node"),
    async (a) =>
      (await commands()).registryStart(a.runId, {
        port: a.port,
        json: a.json,
        ...(a.nodes === undefined ? {} : { nodes: a.nodes }),
      }),
  );
}

function addStop<T extends { json: boolean }>(y: Argv<T>): Argv<T> {
  return y.command(
    "stop <runId>",
    "Stop the run's registry nodes (tearing the run down stops them too)",
    (z) => z.positional("runId", RUN),
    async (a) => (await commands()).registryStop(a.runId),
  );
}

function addRegister<T extends { json: boolean }>(y: Argv<T>): Argv<T> {
  return y.command(
    "register <runId> <resourceId>",
    "Register (or replace) a resource: where it runs, the services it offers and what it promises for them",
    (z) =>
      z
        .positional("runId", RUN)
        .positional("resourceId", { type: "string", demandOption: true })
        .option("node", { type: "string", demandOption: true, describe: "Node the resource runs on" })
        .option("service", {
          type: "string",
          array: true,
          demandOption: true,
          describe: "A service it offers (repeat for several)",
        })
        .option("address", { type: "string", describe: "Address[:port] (default: the node's address)" })
        .option("network", { type: "string", describe: "Network name (default: the run's topology)" })
        .option("health", { choices: ["up", "degraded", "down"] as const, default: "up" as const })
        .option("latency", { type: "string", describe: 'Promised one-way latency, e.g. "2ms"' })
        .option("bandwidth", { type: "string", describe: 'Promised bandwidth, e.g. "1Gbps"' })
        .option("secure", { type: "boolean", describe: "Promises secure links only" })
        .option("cost", { type: "number", describe: "Price per GB" })
        .option("from", { type: "string", describe: "Registry node to send it from (default: --node)" })
        .example(
          "$0 registry register <run> cache-1 --node n2 --service cache --latency 1ms --bandwidth 1Gbps",
          "a cache on n2",
        ),
    async (a) =>
      (await commands()).registryRegister(a.runId, a.resourceId, {
        node: a.node,
        services: a.service,
        health: a.health,
        json: a.json,
        ...(a.address === undefined ? {} : { address: a.address }),
        ...(a.network === undefined ? {} : { network: a.network }),
        ...(a.latency === undefined ? {} : { latency: a.latency }),
        ...(a.bandwidth === undefined ? {} : { bandwidth: a.bandwidth }),
        ...(a.secure === undefined ? {} : { secure: a.secure }),
        ...(a.cost === undefined ? {} : { cost: a.cost }),
        ...(a.from === undefined ? {} : { from: a.from }),
      }),
  );
}

function addDiscover<T extends { json: boolean }>(y: Argv<T>): Argv<T> {
  return y.command(
    "discover <runId> <service>",
    "Resources offering a service that meet an intent, seen from a node (its path to each along the run's routes added)",
    (z) =>
      z
        .positional("runId", RUN)
        .positional("service", { type: "string", demandOption: true })
        .option("from", { type: "string", demandOption: true, describe: "Node asking" })
        .option("max-latency", { type: "string", describe: 'Latency bound, e.g. "20ms"' })
        .option("min-bandwidth", { type: "string", describe: 'Bandwidth floor, e.g. "100Mbps"' })
        .option("secure", { type: "boolean", describe: "Secure links only" })
        .option("max-cost", { type: "number", describe: "Price per GB ceiling" })
        .option("limit", { type: "number", describe: "At most this many matches" })
        .example(
          "$0 registry discover <run> cache --from n0 --max-latency 20ms",
          "caches within 20 ms of n0",
        ),
    async (a) =>
      (await commands()).registryDiscover(a.runId, a.service, {
        from: a.from,
        json: a.json,
        ...(a.maxLatency === undefined ? {} : { maxLatency: a.maxLatency }),
        ...(a.minBandwidth === undefined ? {} : { minBandwidth: a.minBandwidth }),
        ...(a.secure === undefined ? {} : { secure: a.secure }),
        ...(a.maxCost === undefined ? {} : { maxCost: a.maxCost }),
        ...(a.limit === undefined ? {} : { limit: a.limit }),
      }),
  );
}

function addStatus<T extends { json: boolean }>(y: Argv<T>): Argv<T> {
  return y.command(
    "status <runId> <resourceId> <health>",
    "Update a resource's health (up, degraded, down)",
    (z) =>
      z
        .positional("runId", RUN)
        .positional("resourceId", { type: "string", demandOption: true })
        .positional("health", { choices: ["up", "degraded", "down"] as const, demandOption: true })
        .option("from", {
          type: "string",
          demandOption: true,
          describe: "Registry node to send it from",
        }),
    async (a) =>
      (await commands()).registryStatus(a.runId, a.resourceId, a.health, {
        from: a.from,
        json: a.json,
      }),
  );
}

function addShow<T extends { json: boolean }>(y: Argv<T>): Argv<T> {
  return y.command(
    "show <runId> <resourceId>",
    "A resource's record as the DHT returns it",
    (z) =>
      z
        .positional("runId", RUN)
        .positional("resourceId", { type: "string", demandOption: true })
        .option("from", { type: "string", demandOption: true, describe: "Registry node to ask" }),
    async (a) => (await commands()).registryShow(a.runId, a.resourceId, { from: a.from }),
  );
}
