/**
 * Control messages between sidecars over gRPC (`@grpc/grpc-js`), on mutual TLS with the same run certificates as
 * the tunnels: path negotiation. Before a tunnel, a sidecar asks the destination's sidecar whether it accepts one
 * from its identity to an application address (and, where the path has one, through which relay); the destination
 * answers from the same allow policy and delivery list that govern its tunnels (policy.ts `authorize`), so a refusal
 * by policy is known before any tunnel is tried.
 *
 * One unary method, `/topocast.sidecar.v1.Negotiation/Negotiate`. Messages are JSON (gRPC carries any codec; the
 * shapes are {@link NegotiateRequest} and {@link NegotiateReply}). The caller's identity is never taken from the
 * message: it is the SPIFFE ID of the TLS peer certificate (grpc-js `getAuthContext`). grpc-js's server credentials
 * take no CRL, so the server checks the peer's serial against the sidecar's current CRL itself.
 */

import type { SecureContext } from "node:tls";
import {
  type ChannelCredentials,
  credentials,
  status as grpcStatus,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { normalSerial } from "./ca.ts";
import { identityOfSan } from "./identity.ts";
import { type Endpoint, expectIdentity } from "./tunnel.ts";

export interface NegotiateRequest {
  /** Application address at the destination, `host:port`. */
  target: string;
  /** SPIFFE ID of the relay the tunnel would cross, if any. */
  via?: string;
}

export type NegotiateRefusal = "no-identity" | "revoked" | "not-allowed" | "target-not-allowed";

export interface NegotiateReply {
  /** The answering sidecar's identity. */
  sidecar: string;
  accept: boolean;
  /** Index of the allow rule that accepts, when accepted. */
  rule?: number;
  reason?: NegotiateRefusal;
}

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString("utf8")),
};

export const NEGOTIATION_SERVICE = {
  negotiate: {
    path: "/topocast.sidecar.v1.Negotiation/Negotiate",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize as (b: Buffer) => NegotiateRequest,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize as (b: Buffer) => NegotiateReply,
  },
} satisfies ServiceDefinition;

/** The decision a sidecar makes on a negotiation: who asks (authenticated), and what it asks for. */
export interface NegotiationPolicy {
  self: string;
  /** Whether the serial (normalized) is revoked by the current CRL. */
  revoked(serial: string): boolean;
  /** The allow policy: the index of the rule that lets `from` reach this sidecar, or undefined. */
  allows(from: string): number | undefined;
  /** Whether this sidecar delivers to `target`. */
  delivers(target: string): boolean;
  /** Called on every refusal (for the refusal log and counters). */
  refused(
    reason: NegotiateRefusal,
    peer: string,
    peerId: string | undefined,
    request: NegotiateRequest,
  ): void;
}

/** Starts the gRPC server of a sidecar on `host:port` (0: any); resolves with the bound port. */
export async function startNegotiationServer(
  tls: { ca: Buffer; key: Buffer; cert: Buffer },
  at: { host: string; port: number },
  policy: NegotiationPolicy,
): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(NEGOTIATION_SERVICE, {
    negotiate: (
      call: ServerUnaryCall<NegotiateRequest, NegotiateReply>,
      done: sendUnaryData<NegotiateReply>,
    ) => {
      const cert = call.getAuthContext().sslPeerCertificate;
      const peer = identityOfSan(cert?.subjectaltname)?.id;
      const refuse = (reason: NegotiateRefusal) => {
        policy.refused(reason, call.getPeer(), peer, call.request);
        done(null, { sidecar: policy.self, accept: false, reason });
      };
      if (!cert || !peer) return refuse("no-identity");
      if (policy.revoked(normalSerial(cert.serialNumber))) return refuse("revoked");
      const rule = policy.allows(peer);
      if (rule === undefined) return refuse("not-allowed");
      if (!policy.delivers(call.request.target)) return refuse("target-not-allowed");
      done(null, { sidecar: policy.self, accept: true, rule });
    },
  });
  const creds = ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${at.host}:${at.port}`, creds, (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, port };
}

const NegotiationClient = makeGenericClientConstructor(NEGOTIATION_SERVICE, "Negotiation");

/**
 * Asks the sidecar at `to` (its gRPC endpoint and identity) whether it accepts a tunnel; authenticates with
 * `context` (our key, certificate, CA) and requires the server to be `to.spiffeId`. Rejects on transport errors.
 */
export function negotiate(
  context: SecureContext,
  to: Endpoint,
  request: NegotiateRequest,
  timeoutMs = 5000,
): Promise<NegotiateReply> {
  const creds: ChannelCredentials = credentials.createFromSecureContext(context, {
    checkServerIdentity: expectIdentity(to.spiffeId),
  });
  const client = new NegotiationClient(`${to.host}:${to.port}`, creds, {
    // The certificate names an identity, not a host: skip hostname matching, checkServerIdentity checks the identity.
    "grpc.ssl_target_name_override": "topocast",
  });
  return new Promise<NegotiateReply>((resolve, reject) => {
    client.negotiate!(
      request,
      { deadline: Date.now() + timeoutMs },
      (e: (Error & { code?: number }) | null, reply?: NegotiateReply) => {
        client.close();
        if (e)
          reject(
            e.code === grpcStatus.DEADLINE_EXCEEDED
              ? new Error(`negotiation with ${to.spiffeId} timed out`)
              : e,
          );
        else resolve(reply!);
      },
    );
  });
}
