import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { ROOT } from "@tailor/testing";

// How backend teams call the gateway without Tailor's own libraries: Connect over plain HTTP
// (fetch, as curl does) and gRPC through @grpc/grpc-js with the .proto loaded at run time.

/** One Connect unary call with a JSON body (`application/json`), as a curl user makes it. */
export function connectUnary(
  baseUrl: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}/tailor.gateway.v1.GatewayService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A frame of a Connect stream as received, with the time it arrived. */
export interface ConnectFrame {
  end: boolean;
  json: Record<string, unknown>;
  at: number;
}

/**
 * One Connect server-streaming call over HTTP/1.1 with JSON (`application/connect+json`): the
 * request is one enveloped message; the response frames are read as they arrive.
 */
export async function connectStream(
  baseUrl: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; frames: ConnectFrame[] }> {
  const payload = Buffer.from(JSON.stringify(body));
  const envelope = Buffer.alloc(5 + payload.length);
  envelope.writeUInt8(0, 0);
  envelope.writeUInt32BE(payload.length, 1);
  payload.copy(envelope, 5);
  const res = await fetch(`${baseUrl}/tailor.gateway.v1.GatewayService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/connect+json", ...headers },
    body: envelope,
  });
  const frames: ConnectFrame[] = [];
  let buf = Buffer.alloc(0);
  const reader = res.body?.getReader();
  for (;;) {
    const r = await reader?.read();
    if (!r || r.done) break;
    buf = Buffer.concat([buf, Buffer.from(r.value)]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const n = buf.readUInt32BE(1);
      frames.push({
        end: (buf.readUInt8(0) & 2) !== 0,
        json: JSON.parse(buf.subarray(5, 5 + n).toString("utf8")),
        at: performance.now(),
      });
      buf = buf.subarray(5 + n);
    }
  }
  return { status: res.status, frames };
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;

/** The GatewayService as @grpc/grpc-js builds it from gateway.proto (fields in camelCase). */
export interface GrpcGateway extends grpc.Client {
  Ask(req: object, md: grpc.Metadata, cb: Callback<Record<string, unknown>>): grpc.ClientUnaryCall;
  Chat(req: object, md: grpc.Metadata): grpc.ClientReadableStream<Record<string, unknown>>;
}

/** A plain gRPC client of the gateway, from the .proto file (no generated code). */
export function grpcGateway(baseUrl: string): GrpcGateway {
  const def = loader.loadSync(join(ROOT, "proto/tailor/gateway/v1/gateway.proto"), {
    includeDirs: [join(ROOT, "proto")],
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    tailor: {
      gateway: {
        v1: { GatewayService: new (a: string, c: grpc.ChannelCredentials) => GrpcGateway };
      };
    };
  };
  return new pkg.tailor.gateway.v1.GatewayService(
    new URL(baseUrl).host,
    grpc.credentials.createInsecure(),
  );
}

export function bearer(key: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${key}`);
  return md;
}

export function grpcAsk(c: GrpcGateway, req: object, md: grpc.Metadata) {
  return new Promise<Record<string, unknown>>((resolve, reject) =>
    c.Ask(req, md, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** A Chat over gRPC: every message with its arrival time, and the trailers. */
export function grpcChat(c: GrpcGateway, req: object, md: grpc.Metadata) {
  return new Promise<{
    messages: { m: Record<string, unknown>; at: number }[];
    trailers: grpc.Metadata;
  }>((resolve, reject) => {
    const messages: { m: Record<string, unknown>; at: number }[] = [];
    const call = c.Chat(req, md);
    call.on("data", (m: Record<string, unknown>) => messages.push({ m, at: performance.now() }));
    call.on("error", reject);
    call.on("status", (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve({ messages, trailers: s.metadata });
    });
  });
}
