import http2 from "node:http2";
import type { AddressInfo } from "node:net";
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
