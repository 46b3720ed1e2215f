/**
 * The wire format and the client side of a sidecar tunnel (TLS 1.3, mutual authentication, node:tls).
 *
 * After the handshake the client sends one header line (JSON, at most {@link MAX_HEADER} bytes, then `\n`):
 * `{"op":"open","target":"10.213.0.2:5201"}` asks the sidecar to connect to one of its application's addresses and
 * splice; `{"op":"relay","next":"10.213.0.3:15001"}` asks a relay sidecar to open plain TCP to another sidecar of the
 * run and splice, over which the client then runs a second, end-to-end mutual TLS session with that sidecar (so the
 * destination authenticates and authorizes the origin, never the relay). Everything after the header is payload.
 * No reply: a refused tunnel is closed.
 */
import { type Socket, connect as tcpConnect } from "node:net";
import { type PeerCertificate, type SecureContext, type TLSSocket, connect as tlsConnect } from "node:tls";
import { identityOfSan } from "./identity.ts";

export const MAX_HEADER = 1024;

export type TunnelHeader = { op: "open"; target: string } | { op: "relay"; next: string };

/** A sidecar's TLS endpoint and the identity it must present. */
export interface Endpoint {
  host: string;
  port: number;
  spiffeId: string;
}

const HOST_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** Splits `a.b.c.d:port`; undefined when malformed. */
export function hostPort(s: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(s);
  const port = m ? Number(m[2]) : 0;
  return m && port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

/** Parses a header line; undefined when it is not one. */
export function parseHeader(line: string): TunnelHeader | undefined {
  try {
    const h = JSON.parse(line) as { op?: unknown; target?: unknown; next?: unknown };
    if (h.op === "open" && typeof h.target === "string" && hostPort(h.target))
      return { op: "open", target: h.target };
    if (h.op === "relay" && typeof h.next === "string" && hostPort(h.next))
      return { op: "relay", next: h.next };
  } catch {}
  return undefined;
}

/**
 * Reads the header line from a socket, then leaves the socket paused with the rest of what arrived unshifted.
 * Resolves undefined when the socket ends first or the line is too long or not a header.
 */
export function readHeader(socket: Socket): Promise<TunnelHeader | undefined> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (h: TunnelHeader | undefined) => {
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("close", onEnd);
      resolve(h);
    };
    const onEnd = () => done(undefined);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > MAX_HEADER) done(undefined);
        return;
      }
      socket.pause();
      const rest = buf.subarray(nl + 1);
      if (rest.length > 0) socket.unshift(rest);
      done(nl <= MAX_HEADER ? parseHeader(buf.subarray(0, nl).toString("utf8")) : undefined);
    };
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.resume();
  });
}

/** Pipes two sockets both ways; each side's error or close destroys the other. */
export function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.once("error", kill).once("close", kill);
  b.once("error", kill).once("close", kill);
  a.resume();
  b.resume();
}

/** checkServerIdentity for node:tls: the server must present exactly `expected` as its SPIFFE ID. */
export function expectIdentity(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const got = identityOfSan(cert.subjectaltname)?.id;
    return got === expected ? undefined : new Error(`peer identity ${got ?? "(none)"} is not ${expected}`);
  };
}

/**
 * Opens a mutual TLS 1.3 session to `to` with `context` (our key, certificate, CA and CRL), directly or over an
 * existing stream (`over`: a relay's spliced connection); resolves when the server is authenticated.
 */
export function openTls(context: SecureContext, to: Endpoint, over?: Socket): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      ...(over ? { socket: over } : { host: to.host, port: to.port }),
      secureContext: context,
      minVersion: "TLSv1.3",
      rejectUnauthorized: true,
      checkServerIdentity: expectIdentity(to.spiffeId),
    });
    s.once("secureConnect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/**
 * The client side of a tunnel to `target` (an application address at `to`'s node), optionally through `via`:
 * TLS to the relay, the relay header, then TLS to `to` inside it, then the open header. Resolves with the stream to
 * write the payload to.
 */
export async function openTunnel(
  context: SecureContext,
  to: Endpoint,
  target: string,
  via?: Endpoint,
): Promise<TLSSocket> {
  let first: TLSSocket | undefined;
  try {
    let over: TLSSocket | undefined;
    if (via) {
      first = await openTls(context, via);
      first.write(`${JSON.stringify({ op: "relay", next: `${to.host}:${to.port}` })}\n`);
      over = first;
    }
    const s = await openTls(context, to, over);
    s.write(`${JSON.stringify({ op: "open", target })}\n`);
    return s;
  } catch (e) {
    first?.destroy();
    throw e;
  }
}

/** Plain TCP connect; resolves when connected. */
export function openTcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port });
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}
