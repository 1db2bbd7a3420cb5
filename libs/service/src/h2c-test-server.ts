import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** A bare h2c Connect server on a free port, for tests of single route sets. */
export interface H2cTestServer {
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

export async function startH2cTestServer(
  routes: (router: ConnectRouter) => void,
): Promise<H2cTestServer> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  // server.close() waits for open HTTP/2 sessions, and the client keeps its session alive.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const session of sessions) session.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Streams a gRPC message of `size` bytes, stopping as soon as the server answers. */
export function grpcUpload(base: string, path: string, size: number) {
  return new Promise<{ status: string; sentWhenAnswered: number }>((resolve, reject) => {
    const session = http2.connect(base);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let sent = 0;
    let answered = false;
    req.on("trailers", (t) => {
      answered = true;
      resolve({ status: String(t["grpc-status"]), sentWhenAnswered: sent });
      req.close();
      session.close();
    });
    req.on("error", reject);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(size, 1);
    req.write(head);
    const chunk = Buffer.alloc(16 * 1024, 0x78);
    void (async () => {
      while (sent < size && !answered && !req.destroyed) {
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        sent += chunk.length;
      }
    })();
  });
}

/**
 * Calls grpc.health.v1.Health/Check with curl as a plain HTTP/1.1 client would (no
 * --http2-prior-knowledge); returns the body's lines and the HTTP version curl used.
 */
export async function curlHealthCheck(baseUrl: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("curl", [
    "-sS",
    "-X",
    "POST",
    "-H",
    "content-type: application/json",
    "--data",
    "{}",
    "-w",
    "\\n%{http_version}",
    `${baseUrl}/grpc.health.v1.Health/Check`,
  ]);
  return stdout.trim().split("\n");
}
