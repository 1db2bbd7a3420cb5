import type http from "node:http";
import http2 from "node:http2";
import type { NodeHandler } from "@tailor/service";
import type { Stopwatch } from "../rag/stopwatch.js";
import { invalidRequest, OpenAiError } from "./errors.js";

export type Req = Parameters<NodeHandler>[0];
export type Res = Parameters<NodeHandler>[1];

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function isHttp2(req: Req): req is http2.Http2ServerRequest {
  return req.httpVersionMajor >= 2;
}

/** One header's value (the first when repeated). */
export function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function tooLarge(limit: number): OpenAiError {
  return new OpenAiError(
    413,
    `request body is larger than ${limit} bytes`,
    "invalid_request_error",
    null,
    "request_too_large",
  );
}

/** 413 before a byte is read when the declared length is already over the limit. */
export function checkDeclaredLength(req: Req, limit: number): void {
  const declared = Number(header(req, "content-length"));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
}

/** A JSON body: strict UTF-8, then JSON.parse; each failure a 400 that says which. */
export function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = fatalUtf8.decode(bytes);
  } catch {
    throw invalidRequest(null, "request body is not valid UTF-8", "invalid_utf8");
  }
  if (text.trim() === "") throw invalidRequest(null, "request body is empty; send a JSON object");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message names the position, never more than a few characters of the body.
    const why = err instanceof SyntaxError ? err.message.slice(0, 200) : "parse error";
    throw invalidRequest(null, `request body is not valid JSON (${why})`, "invalid_json");
  }
}

/** The body, at most `limit` bytes: reading stops (413) as soon as more arrive. */
export function readBytes(req: Req, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      if (err) reject(err);
      else resolve(Buffer.concat(parts, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done(tooLarge(limit));
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => done();
    const onError = () =>
      done(new OpenAiError(400, "request body could not be read", "invalid_request_error"));
    // Before `end`: the client went away mid-upload.
    const onClose = () =>
      done(new OpenAiError(499, "client closed the request", "invalid_request_error"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * After a refusal sent before the body was read whole, stops the client's upload instead of
 * reading the rest: HTTP/1.1 closes the connection, HTTP/2 resets only this stream (NO_ERROR,
 * "stop sending, the response is complete").
 */
function stopReading(req: Req, res: Res): void {
  if (req.complete) return;
  if (isHttp2(req)) {
    res.once("finish", () => req.stream.close(http2.constants.NGHTTP2_NO_ERROR));
  } else {
    if (!res.headersSent) (res as http.ServerResponse).setHeader("connection", "close");
    res.once("finish", () => req.socket.destroySoon());
  }
}

/** The gateway's own time so far, as every response carries it. */
export function overheadHeader(sw: Stopwatch): Record<string, string> {
  return { [OVERHEAD_HEADER]: sw.overheadMs.toFixed(3) };
}

export const OVERHEAD_HEADER = "x-tailor-overhead-ms";

export function sendJson(
  res: Res,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const data = Buffer.from(JSON.stringify(body), "utf8");
  (res as http.ServerResponse).writeHead(status, {
    "content-type": "application/json",
    "content-length": String(data.length),
    ...headers,
  });
  res.end(data);
}

export function sendError(req: Req, res: Res, err: OpenAiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  // Other refusals leave a small unread body to Node, which discards it and keeps the connection.
  if (err.status === 413) stopReading(req, res);
  const headers: Record<string, string> = {};
  if (err.retryAfter !== undefined) headers["retry-after"] = String(err.retryAfter);
  if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="tailor"';
  sendJson(res, err.status, err.body(), headers);
}

/** Waits until a response that returned false from `write` can take more, or is closed. */
export function drained(res: Res): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      res.off("drain", go);
      res.off("close", go);
      resolve();
    };
    res.on("drain", go);
    res.on("close", go);
  });
}
