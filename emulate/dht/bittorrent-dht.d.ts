/** The part of bittorrent-dht 11 (https://github.com/webtorrent/bittorrent-dht) the registry uses; no @types exist. */
declare module "bittorrent-dht" {
  import { EventEmitter } from "node:events";

  export interface DhtPeer {
    host: string;
    port: number;
  }

  export interface DhtOptions {
    /** Bootstrap nodes; `false` for none. Left undefined, the library uses public routers: never do that here. */
    bootstrap: DhtPeer[] | string[] | false;
    /** Own address, so own announces land in the own table. */
    host?: string | false;
    nodeId?: Buffer | string;
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
    concurrency?: number;
    /** Bucket size and lookup width, passed to k-rpc. @default 20 */
    k?: number;
    /** UDP query timeout, ms, passed to k-rpc-socket. @default 2000 */
    timeout?: number;
    maxAge?: number;
  }

  export interface PutOptions {
    v: Buffer;
    k?: Buffer;
    seq?: number;
    cas?: number;
    salt?: Buffer;
    sign?: (message: Buffer) => Buffer;
  }

  export interface GetResult {
    v: Buffer;
    id: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
  }

  export default class DHT extends EventEmitter {
    constructor(opts: DhtOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    listen(port: number, address: string, onListening?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: DhtPeer): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, n: number) => void): () => void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null) => void): void;
    put(opts: PutOptions, cb: (err: Error | null, hash: Buffer, n: number) => void): Buffer;
    get(
      hash: Buffer | string,
      opts: { salt?: Buffer; cache?: boolean },
      cb: (err: Error | null, res: GetResult | null) => void,
    ): void;
    toJSON(): { nodes: DhtPeer[]; values: Record<string, unknown> };
    destroy(cb?: () => void): void;
  }
}
