import type http from "node:http";
import type http2 from "node:http2";
import net from "node:net";

/** What every HTTP/2 client sends first; cleartext HTTP/2 has no ALPN, so this is how to tell. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A connection that has not said which protocol it speaks by then is dropped. */
const SNIFF_TIMEOUT_MS = 10_000;

/**
 * A TCP server that hands each connection to `h2` when it opens with the HTTP/2 preface and to
 * `h1` otherwise, so one port serves h2c (gRPC) and HTTP/1.1 (curl, browsers, fetch).
 *
 * Modelled on @httptoolkit/httpolyglot, but the HTTP/2 socket keeps its native handle: Node
 * (since 15) feeds bytes already read from a socket to a new HTTP/2 session, so the JS stream
 * wrapper that library forces (and its cost per call) is not needed.
 */
export function createSniffingServer(h1: http.Server, h2: http2.Http2Server): net.Server {
  return net.createServer((socket) => {
    const drop = () => socket.destroy();
    socket.on("error", drop);
    socket.setTimeout(SNIFF_TIMEOUT_MS, drop);
    const sniff = (seen: Buffer) => {
      const chunk = socket.read() as Buffer | null;
      const data = chunk ? Buffer.concat([seen, chunk]) : seen;
      const n = Math.min(data.length, PREFACE.length);
      const maybeH2 = data.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (data.length === 0 || (maybeH2 && data.length < PREFACE.length)) {
        socket.once("readable", () => sniff(data));
        return;
      }
      socket.off("error", drop);
      socket.setTimeout(0);
      socket.unshift(data);
      (maybeH2 ? h2 : h1).emit("connection", socket);
    };
    sniff(Buffer.alloc(0));
  });
}
