import { execFile } from "node:child_process";
import http2 from "node:http2";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import {
  Health,
  RetrievalService,
  SearchRequestSchema,
  SearchResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import { FieldError } from "./fields.js";
import { curlHealthCheck, grpcUpload } from "./h2c-test-server.js";
import { RpcServer } from "./server.js";

const _run = promisify(execFile);
const SEARCH = "/tailor.retrieval.v1.RetrievalService/Search";

let server: RpcServer | undefined;
/** Resolve the slow calls that the graceful-close test holds open. */
const releases: (() => void)[] = [];

async function start(readMaxBytes?: number): Promise<string> {
  server = new RpcServer({
    host: "127.0.0.1",
    port: 0,
    services: [RetrievalService],
    logger: createLogger("server-test", "silent"),
    readMaxBytes,
    routes: (router) =>
      router.service(RetrievalService, {
        // Echoes what it parsed, so a test sees exactly what reached a handler.
        async search(req) {
          if (req.query === "field-error") throw new FieldError("query", "is bad");
          if (req.query === "crash") throw new Error("secret internals");
          if (req.query === "slow") await new Promise<void>((r) => releases.push(r));
          return create(SearchResponseSchema, { modelVersion: `${req.mode}:${req.query}` });
        },
        async stats() {
          return {};
        },
      }),
  });
  const port = await server.listen();
  return `http://127.0.0.1:${port}`;
}

afterEach(async () => {
  for (const r of releases.splice(0)) r();
  await server?.close(500);
  server = undefined;
});

function post(base: string, path: string, body: string | Uint8Array, type = "application/json") {
  return fetch(`${base}${path}`, { method: "POST", headers: { "content-type": type }, body });
}

/** One gRPC unary call over h2c with a hand-made body; returns grpc-status and grpc-message. */
function rawGrpc(base: string, path: string, message: Uint8Array) {
  return new Promise<{ status: string; message: string }>((resolve, reject) => {
    const session = http2.connect(base);
    session.on("error", reject);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => {
      headers = h;
    });
    req.on("trailers", (t) => {
      headers = { ...headers, ...t };
    });
    req.on("data", () => {});
    req.on("end", () => {
      session.close();
      resolve({
        status: String(headers["grpc-status"]),
        message: decodeURIComponent(String(headers["grpc-message"] ?? "")),
      });
    });
    req.on("error", reject);
    req.end(frame);
  });
}

/** A SearchRequest whose query holds the byte 0xff, which is never valid UTF-8. */
function badUtf8Search(): Uint8Array {
  const bytes = toBinary(
    SearchRequestSchema,
    create(SearchRequestSchema, { tenant: "t", query: "abcd" }),
  );
  const at = Buffer.from(bytes).indexOf(Buffer.from("abcd"));
  bytes[at + 1] = 0xff;
  return bytes;
}

describe("RpcServer: HTTP/1.1 and HTTP/2 on one port", () => {
  it("answers curl's plain HTTP/1.1 with Connect JSON", async () => {
    const base = await start();
    expect(await curlHealthCheck(base)).toEqual(['{"status":"SERVING"}', "1.1"]);
  });

  it("serves Connect (JSON and binary) and gRPC-Web over HTTP/1.1, and gRPC and Connect over h2c", async () => {
    const baseUrl = await start();
    const transports = {
      connectJson11: createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: false,
      }),
      connectBinary11: createConnectTransport({ baseUrl, httpVersion: "1.1" }),
      grpcWeb11: createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
      grpcWeb2: createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
      connect2: createConnectTransport({ baseUrl, httpVersion: "2" }),
      grpc: createGrpcTransport({ baseUrl }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const client = createClient(RetrievalService, transport);
      const r = await client.search({ tenant: "t", query: `q-${name}` });
      expect(r.modelVersion, name).toBe(`0:q-${name}`);
      const h = await createClient(Health, transport).check({});
      expect(h.status, name).toBe(ServingStatus.SERVING);
    }
  });

  it("streams health Watch over gRPC and over Connect on HTTP/1.1", async () => {
    const baseUrl = await start();
    for (const transport of [
      createGrpcTransport({ baseUrl }),
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    ]) {
      const abort = new AbortController();
      const seen: ServingStatus[] = [];
      const stream = createClient(Health, transport).watch({}, { signal: abort.signal });
      for await (const m of stream) {
        seen.push(m.status);
        if (seen.length === 1) server?.health.setAll(ServingStatus.NOT_SERVING);
        if (seen.length === 2) break;
      }
      abort.abort();
      server?.health.setAll(ServingStatus.SERVING);
      expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    }
  });

  it("lets open calls on both protocols finish when it closes", async () => {
    const baseUrl = await start();
    const calls = ["1.1", "2"].map((httpVersion) =>
      createClient(
        RetrievalService,
        createConnectTransport({ baseUrl, httpVersion: httpVersion as "1.1" | "2" }),
      ).search({ tenant: "t", query: "slow" }),
    );
    const deadline = Date.now() + 5000;
    while (releases.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(releases).toHaveLength(2);
    const closing = server?.close(5000);
    server = undefined;
    for (const r of releases.splice(0)) r();
    const results = await Promise.all(calls);
    expect(results.map((r) => r.modelVersion)).toEqual(["0:slow", "0:slow"]);
    await closing;
  });
});

describe("RpcServer: refusing bad requests with the right code", () => {
  it("refuses invalid UTF-8 in a Connect JSON body with invalid_argument", async () => {
    const base = await start();
    const body = Buffer.concat([
      Buffer.from('{"tenant":"t","query":"ab'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('cd"}'),
    ]);
    const res = await post(base, SEARCH, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "invalid_argument",
      message: "request body is not valid UTF-8",
    });
  });

  it("refuses invalid UTF-8 in a protobuf string, naming the field, over Connect and gRPC", async () => {
    const base = await start();
    const res = await post(base, SEARCH, badUtf8Search(), "application/proto");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "invalid_argument",
      message: "query: is not valid UTF-8",
    });
    expect(await rawGrpc(base, SEARCH, badUtf8Search())).toEqual({
      status: String(Code.InvalidArgument),
      message: "query: is not valid UTF-8",
    });
    // A valid request on the same server still works: the guard is per request.
    const ok = await post(base, SEARCH, JSON.stringify({ tenant: "t", query: "ok \u00e9" }));
    expect(await ok.json()).toEqual({ modelVersion: "0:ok \u00e9" });
  });

  it("refuses unknown enum names and unknown fields in Connect JSON", async () => {
    const base = await start();
    for (const body of [
      { tenant: "t", query: "q", mode: "SEARCH_MODE_BOGUS" },
      { tenant: "t", query: "q", bogus: 1 },
    ]) {
      const res = await post(base, SEARCH, JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
    }
    const named = await post(
      base,
      SEARCH,
      JSON.stringify({ tenant: "t", query: "q", mode: "SEARCH_MODE_KEYWORD" }),
    );
    expect(await named.json()).toEqual({ modelVersion: "2:q" });
  });

  it("turns FieldError into invalid_argument and hides other errors behind internal", async () => {
    const baseUrl = await start();
    const client = createClient(RetrievalService, createGrpcTransport({ baseUrl }));
    const fieldErr = await client.search({ query: "field-error" }).catch((e: unknown) => e);
    expect(ConnectError.from(fieldErr).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(fieldErr).rawMessage).toBe("query: is bad");
    const crash = await client.search({ query: "crash" }).catch((e: unknown) => e);
    expect(ConnectError.from(crash).code).toBe(Code.Internal);
    expect(ConnectError.from(crash).rawMessage).toBe("internal error");
  });

  it("refuses a 50 MB body with resource_exhausted after reading little of it", async () => {
    const base = await start(1024 * 1024);
    // HTTP/1.1 with a declared length: refused before the body is read.
    const big = JSON.stringify({ tenant: "t", query: "x".repeat(50 * 1024 * 1024) });
    const res = await post(base, SEARCH, big);
    expect(res.status).toBe(429);
    expect(((await res.json()) as { code: string }).code).toBe("resource_exhausted");
    // gRPC streams the upload: the answer comes while the client is held back by flow control.
    const r = await grpcUpload(base, SEARCH, 50 * 1024 * 1024);
    expect(r.status).toBe(String(Code.ResourceExhausted));
    expect(r.sentWhenAnswered).toBeLessThan(4 * 1024 * 1024);
  });
});

describe("readiness", () => {
  it("reports SERVING only while every readiness source is healthy, and follows it", async () => {
    const listeners = new Set<(healthy: boolean, reason: string) => void>();
    const source = {
      isHealthy: false,
      onHealth(l: (healthy: boolean, reason: string) => void) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const set = (healthy: boolean) => {
      source.isHealthy = healthy;
      for (const l of listeners) l(healthy, "test");
    };
    server = new RpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [RetrievalService],
      logger: createLogger("server-test", "silent"),
      readiness: [source],
      routes: () => {},
    });
    const port = await server.listen();
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
    );
    const status = async () => (await health.check({ service: "" })).status;
    expect(await status()).toBe(ServingStatus.NOT_SERVING);
    set(true);
    expect(await status()).toBe(ServingStatus.SERVING);
    set(false);
    expect(await status()).toBe(ServingStatus.NOT_SERVING);
    await server.close(500);
    server = undefined;
    // Closed: the source no longer moves the status.
    expect(listeners.size).toBe(0);
  });
});
