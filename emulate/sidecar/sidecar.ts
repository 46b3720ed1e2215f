/**
 * One sidecar of the mesh: a process per application instance in its node's namespace (started by mesh.ts as
 * `ip netns exec <ns> node --import tsx emulate/sidecar/sidecar.ts <json SidecarConfig>`).
 *
 * - **Tunnels in**: a TLS 1.3 server on the node address (node:tls; `minVersion: "TLSv1.3"`, `requestCert` and
 *   `rejectUnauthorized`, the run's CA and CRL), so a client without a certificate, with one of another CA, expired
 *   or revoked fails in the handshake. Every authenticated connection is then checked: its certificate must carry one
 *   SPIFFE ID (identity.ts) and the allow policy must let it reach this sidecar (policy.ts `authorize`), before a
 *   byte of its payload is read. Then its header (tunnel.ts) names an application address this sidecar delivers to
 *   (`deliver`) or, for a relay, another sidecar of the run (`peers`); anything else is refused.
 * - **Tunnels out**: one plain TCP listener per route for the application (`127.0.0.1:<port>` in the namespace);
 *   each connection becomes a tunnel to the route's destination sidecar (its SPIFFE ID checked by
 *   checkServerIdentity), optionally through a relay sidecar, to the route's target address.
 * - **Refusals**: each one a JSON line appended to the mesh's `refusals.jsonl` ({@link Refusal}) and counted.
 *   Reasons: `no-certificate`, `wrong-ca`, `expired`, `not-yet-valid`, `revoked`, `bad-certificate` (another
 *   verification error), `handshake-failed` (no TLS 1.3 handshake: a scan, plain TCP, an older TLS), `no-identity`,
 *   `not-allowed` (policy), `bad-request` (no valid header), `target-not-allowed`, `relay-not-allowed`.
 * - **Negotiation** (optional, `control`): a gRPC server (negotiation.ts) answering whether this sidecar accepts a
 *   tunnel from the (authenticated) caller to an application address, from the same policy and delivery list.
 * - **Control**: requests as JSON lines on stdin (`{"id":1,"op":"stats"}`, `reload`: load the bundle files again and
 *   close the connections of peers the new CRL revokes, `negotiate` with `to` (a sidecar's gRPC endpoint) and
 *   `request`, `stop`), answers on stdout (`{"id":1,"ok":true,...}` or `{"id":1,"ok":false,"error":"..."}`),
 *   `{"event":"ready","port":n,"routes":[ports]}` once listening. When stdin closes (the driver died, even by
 *   kill -9) the sidecar exits.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { createInterface } from "node:readline";
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  type TLSSocket,
  type Server as TlsServer,
} from "node:tls";
import { fileURLToPath } from "node:url";
import type { Server as GrpcServer } from "@grpc/grpc-js";
import { crlSerials, normalSerial } from "./ca.ts";
import { identityOfSan } from "./identity.ts";
import {
  type NegotiateReply,
  type NegotiateRequest,
  negotiate,
  startNegotiationServer,
} from "./negotiation.ts";
import { type AllowPolicy, authorize } from "./policy.ts";
import { type Endpoint, hostPort, openTcp, openTunnel, readHeader, splice } from "./tunnel.ts";

export const SIDECAR_SCRIPT = fileURLToPath(import.meta.url);

export interface SidecarRoute {
  /** Local plain-TCP listener for the application (port 0: any free port). */
  listen: { host: string; port: number };
  to: Endpoint;
  /** The application address at the destination, `host:port`. */
  target: string;
  via?: Endpoint;
}

export interface SidecarConfig {
  runId: string;
  spiffeId: string;
  keyPath: string;
  certPath: string;
  caPath: string;
  crlPath: string;
  refusalsPath: string;
  /** Where the TLS server listens (the node address). */
  listen: { host: string; port: number };
  policy: AllowPolicy;
  /** Application addresses (`host:port`) tunnels to this sidecar may reach. */
  deliver: string[];
  /** TLS endpoints (`host:port`) of the run's sidecars that a relay request may name. */
  peers: string[];
  routes: SidecarRoute[];
  /** Where the gRPC negotiation server listens (negotiation.ts), if this sidecar runs one. */
  control?: { host: string; port: number };
}

export type RefusalReason =
  | "no-certificate"
  | "wrong-ca"
  | "expired"
  | "not-yet-valid"
  | "revoked"
  | "bad-certificate"
  | "handshake-failed"
  | "no-identity"
  | "not-allowed"
  | "bad-request"
  | "target-not-allowed"
  | "relay-not-allowed";

/** One line of refusals.jsonl. */
export interface Refusal {
  time: string;
  runId: string;
  /** The refusing sidecar's identity. */
  sidecar: string;
  reason: RefusalReason;
  /** The peer's address and port. */
  peer: string;
  /** The peer's SPIFFE ID, when it authenticated. */
  peerId?: string;
  detail?: string;
}

export interface SidecarStats {
  /** Connections that authenticated and passed the policy. */
  authorized: number;
  /** Tunnels spliced to an application address / relayed to another sidecar. */
  delivered: number;
  relayed: number;
  /** Tunnels opened for the local application. */
  opened: number;
  /** Local connections whose tunnel could not be opened. */
  openFailed: number;
  /**
   * Set-up time of the last tunnels opened (at most {@link SETUP_SAMPLES}), ms: from the application's connection
   * to the authenticated TLS session with the destination sidecar (TCP connect, TLS 1.3 handshake, and the relay's
   * when there is one).
   */
  setupMs: number[];
  refused: Partial<Record<RefusalReason, number>>;
}

/** OpenSSL verification codes (Node's `authorizationError`) to refusal reasons. */
const VERIFY_REASONS: Record<string, RefusalReason> = {
  CERT_REVOKED: "revoked",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "not-yet-valid",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "wrong-ca",
  UNABLE_TO_GET_ISSUER_CERT: "wrong-ca",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "wrong-ca",
  DEPTH_ZERO_SELF_SIGNED_CERT: "wrong-ca",
  SELF_SIGNED_CERT_IN_CHAIN: "wrong-ca",
  CERT_SIGNATURE_FAILURE: "wrong-ca",
};

/** The reason a handshake failed, from the TLS socket's verification code or the error's code. */
export function handshakeReason(authorizationError: unknown, errorCode: string | undefined): RefusalReason {
  if (typeof authorizationError === "string") return VERIFY_REASONS[authorizationError] ?? "bad-certificate";
  if (errorCode === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") return "no-certificate";
  return "handshake-failed";
}

function peerOf(s: Socket): string {
  return `${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"}`;
}

/**
 * TLS 1.3 suites, AES-128-GCM first: both ends are sidecars, and on a CPU with AES instructions it costs about 15%
 * less CPU per byte than OpenSSL's default first choice, AES-256-GCM (measured: 2.3 against 2.7 CPU-s per GB for
 * encryption plus decryption in one Node process, loaded machine); ChaCha20-Poly1305 stays for CPUs without them.
 */
export const TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/** How many tunnel set-up times {@link SidecarStats.setupMs} keeps. */
export const SETUP_SAMPLES = 1000;

export class Sidecar {
  readonly stats: SidecarStats = {
    authorized: 0,
    delivered: 0,
    relayed: 0,
    opened: 0,
    openFailed: 0,
    setupMs: [],
    refused: {},
  };
  private context: SecureContext;
  private readonly server: TlsServer;
  private readonly locals: TcpServer[] = [];
  /** Open inbound connections with their peer certificate's serial. */
  private readonly inbound = new Map<TLSSocket, string>();
  /** Serials the current CRL revokes (normalized). */
  private revoked = new Set<string>();
  private control: GrpcServer | undefined;
  /** Peer addresses of handshakes in progress. */
  private readonly peers = new WeakMap<Socket, string>();

  constructor(readonly config: SidecarConfig) {
    this.context = createSecureContext(this.tlsOptions());
    this.revoked = new Set(crlSerials(readFileSync(config.crlPath, "utf8")));
    this.server = createTlsServer({
      ...this.tlsOptions(),
      requestCert: true,
      rejectUnauthorized: true,
    });
    this.server.on("secureConnection", (s) => void this.accept(s));
    // A socket refused by certificate verification has lost its address by the time tlsClientError fires; the
    // first key-log line of its handshake (emitted before the client's certificate arrives) is the last moment it
    // is known. The key material itself is ignored.
    this.server.on("keylog", (_line: Buffer, s: TLSSocket) => {
      if (!this.peers.has(s)) this.peers.set(s, peerOf(s));
    });
    this.server.on("tlsClientError", (e: NodeJS.ErrnoException, s: TLSSocket) =>
      this.refuse(handshakeReason(s.authorizationError, e.code), s, undefined, e.code),
    );
  }

  private tlsOptions() {
    const c = this.config;
    return {
      key: readFileSync(c.keyPath),
      cert: readFileSync(c.certPath),
      ca: readFileSync(c.caPath),
      crl: readFileSync(c.crlPath),
      minVersion: "TLSv1.3" as const,
      ciphers: TLS13_SUITES,
    };
  }

  /** Starts the TLS server and the local listeners; resolves with their ports. */
  async start(): Promise<{ port: number; routes: number[]; control?: number }> {
    const { host, port } = this.config.listen;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    const routes: number[] = [];
    for (const r of this.config.routes) {
      const srv = createTcpServer((app) => void this.forward(app, r));
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(r.listen.port, r.listen.host, () => resolve());
      });
      this.locals.push(srv);
      routes.push((srv.address() as { port: number }).port);
    }
    const control = this.config.control ? await this.startControl(this.config.control) : undefined;
    return {
      port: (this.server.address() as { port: number }).port,
      routes,
      ...(control ? { control } : {}),
    };
  }

  /** The gRPC negotiation server: the same policy and delivery list as the tunnels. */
  private async startControl(at: { host: string; port: number }): Promise<number> {
    const c = this.config;
    const tls = { ca: readFileSync(c.caPath), key: readFileSync(c.keyPath), cert: readFileSync(c.certPath) };
    const { server, port } = await startNegotiationServer(tls, at, {
      self: c.spiffeId,
      revoked: (serial) => this.revoked.has(serial),
      allows: (from) => {
        const a = authorize(c.policy, from, c.spiffeId);
        return a.allowed ? a.rule : undefined;
      },
      delivers: (target) => c.deliver.includes(target),
      refused: (reason, peer, peerId, request) =>
        this.logRefusal(reason, peer, peerId, `negotiation for ${request.target}`),
    });
    this.control = server;
    return port;
  }

  /** Asks another sidecar's negotiation server whether it accepts a tunnel from this sidecar. */
  negotiate(to: Endpoint, request: NegotiateRequest): Promise<NegotiateReply> {
    return negotiate(this.context, to, request);
  }

  private refuse(reason: RefusalReason, s: Socket, peerId?: string, detail?: string): void {
    this.logRefusal(reason, this.peers.get(s) ?? peerOf(s), peerId, detail);
    s.destroy();
  }

  private logRefusal(reason: RefusalReason, peer: string, peerId?: string, detail?: string): void {
    this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1;
    const r: Refusal = {
      time: new Date().toISOString(),
      runId: this.config.runId,
      sidecar: this.config.spiffeId,
      reason,
      peer,
      ...(peerId ? { peerId } : {}),
      ...(detail ? { detail } : {}),
    };
    appendFileSync(this.config.refusalsPath, `${JSON.stringify(r)}\n`);
  }

  /** An authenticated inbound connection: identity, policy, header, then splice. */
  private async accept(s: TLSSocket): Promise<void> {
    s.pause();
    s.on("error", () => s.destroy());
    const cert = s.getPeerCertificate();
    const peer = identityOfSan(cert.subjectaltname);
    if (!peer) return this.refuse("no-identity", s, undefined, cert.subjectaltname);
    if (!authorize(this.config.policy, peer.id, this.config.spiffeId).allowed)
      return this.refuse("not-allowed", s, peer.id);
    this.stats.authorized++;
    this.inbound.set(s, normalSerial(cert.serialNumber));
    s.once("close", () => this.inbound.delete(s));
    const header = await readHeader(s);
    if (!header) return this.refuse("bad-request", s, peer.id);
    const dest = header.op === "open" ? header.target : header.next;
    const allowed = header.op === "open" ? this.config.deliver : this.config.peers;
    if (!allowed.includes(dest))
      return this.refuse(header.op === "open" ? "target-not-allowed" : "relay-not-allowed", s, peer.id, dest);
    const { host, port } = hostPort(dest)!;
    try {
      const out = await openTcp(host, port);
      if (s.destroyed) return void out.destroy();
      splice(s, out);
      if (header.op === "open") this.stats.delivered++;
      else this.stats.relayed++;
    } catch {
      s.destroy();
    }
  }

  /** A local application connection: open the route's tunnel and splice. */
  private async forward(app: Socket, r: SidecarRoute): Promise<void> {
    app.pause();
    app.on("error", () => app.destroy());
    try {
      const t0 = performance.now();
      const t = await openTunnel(this.context, r.to, r.target, r.via);
      this.stats.opened++;
      this.stats.setupMs.push(performance.now() - t0);
      if (this.stats.setupMs.length > SETUP_SAMPLES) this.stats.setupMs.shift();
      splice(app, t);
    } catch {
      this.stats.openFailed++;
      app.destroy();
    }
  }

  /** Loads the bundle again (a new CRL) and closes inbound connections whose peer it revokes; returns how many. */
  reload(): number {
    this.context = createSecureContext(this.tlsOptions());
    this.server.setSecureContext({ ...this.tlsOptions() });
    this.revoked = new Set(crlSerials(readFileSync(this.config.crlPath, "utf8")));
    let closed = 0;
    for (const [s, serial] of this.inbound) {
      if (!this.revoked.has(serial)) continue;
      closed++;
      this.refuse(
        "revoked",
        s,
        identityOfSan(s.getPeerCertificate().subjectaltname)?.id,
        "closed on revocation",
      );
    }
    return closed;
  }

  close(): Promise<void> {
    this.control?.forceShutdown();
    for (const s of this.inbound.keys()) s.destroy();
    for (const l of this.locals) l.close();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Serves the control channel on stdin/stdout; exits when stdin closes. */
async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as SidecarConfig;
  // Named with the run prefix, as every object of a run (ps shows `tc<run>-sidecar spiffe://...`).
  process.title = `tc${config.runId}-sidecar ${config.spiffeId}`;
  const sidecar = new Sidecar(config);
  const ports = await sidecar.start();
  const say = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  say({ event: "ready", ...ports });
  const stop = () => void sidecar.close().finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.stdin.once("end", stop);
  createInterface({ input: process.stdin }).on("line", (line) => {
    let req: { id?: number; op?: string; to?: Endpoint; request?: NegotiateRequest };
    try {
      req = JSON.parse(line);
    } catch {
      return;
    }
    if (req.op === "stats") say({ id: req.id, ok: true, result: sidecar.stats });
    else if (req.op === "reload") say({ id: req.id, ok: true, result: { closed: sidecar.reload() } });
    else if (req.op === "negotiate" && req.to && req.request)
      sidecar.negotiate(req.to, req.request).then(
        (result) => say({ id: req.id, ok: true, result }),
        (e: Error) => say({ id: req.id, ok: false, error: e.message }),
      );
    else if (req.op === "stop") stop();
    else say({ id: req.id, ok: false, error: `unknown op ${JSON.stringify(req.op)}` });
  });
}

if (process.argv[1] === SIDECAR_SCRIPT) {
  main().catch((e: unknown) => {
    process.stderr.write(`sidecar: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
