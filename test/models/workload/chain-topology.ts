/** The four-node chain the application tests run on, and its shortest-path routes. */
import { allPairsShortestPaths } from "../../../sim/substrate/routing.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";

/**
 *   users --- web --- app --- db        every link 1 Gbit/s, 1 ms
 */
export const chainTopology = new TopologyBuilder("dc", "test", { capacityBps: 1e9, delayNs: 1_000_000 })
  .addNode({ id: "users" })
  .addNode({ id: "web" })
  .addNode({ id: "app" })
  .addNode({ id: "db" })
  .addLink("users", "web")
  .addLink("web", "app")
  .addLink("app", "db")
  .build();

const routes = allPairsShortestPaths(chainTopology, { weight: "delay" });

/** The least-delay path from node a to node b. */
export const chainRoute = (a: number, b: number) => routes.path(a, b)!;
