import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import type { DataDocument } from "@tailor/bus";
import { ID_RULE, KEY_RULE, type TextRule, textProblem } from "@tailor/service";

const TYPES: Record<string, string> = {
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".txt": "text/plain",
  ".html": "text/html",
  ".htm": "text/html",
};

export class InputError extends Error {
  override readonly name = "InputError";
  readonly code = "invalid_input";
}

/** One line of a JSONL file: a document, or why it is not one. */
export type JsonlItem = { line: number; doc: DataDocument } | { line: number; problem: string };

const VALUE_RULE: TextRule = { maxBytes: Number.MAX_SAFE_INTEGER, control: "whitespace" };

/**
 * Reads `{"id","title","text","content_type","metadata"}` lines. A bad line is reported with its
 * number and the reader goes on, so the caller decides whether to stop or skip.
 */
export async function* readJsonl(path: string): AsyncGenerator<JsonlItem> {
  const rl = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (!line.trim()) continue;
    const r = parseLine(line);
    yield typeof r === "string" ? { line: n, problem: r } : { line: n, doc: r };
  }
}

/** A document from one JSONL line, or a problem phrased without quoting the line. */
export function parseLine(line: string): DataDocument | string {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch {
    return "not valid JSON";
  }
  if (!j || typeof j !== "object" || Array.isArray(j)) return "not a JSON object";
  const o = j as Record<string, unknown>;
  const id = typeof o["id"] === "number" ? String(o["id"]) : o["id"];
  if (typeof id !== "string" || id === "") return '"id" is required (a string or a number)';
  const idProblem = textProblem(id, ID_RULE);
  if (idProblem) return `"id" ${idProblem}`;
  for (const f of ["title", "text", "content_type"] as const) {
    const v = o[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") return `"${f}" must be a string`;
    const p = textProblem(v, VALUE_RULE);
    if (p) return `"${f}" ${p}`;
  }
  const metadata: Record<string, string> = {};
  const m = o["metadata"];
  if (m !== undefined && m !== null) {
    if (typeof m !== "object" || Array.isArray(m)) return '"metadata" must be an object';
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      const kp = textProblem(k, KEY_RULE);
      if (kp) return `a "metadata" key ${kp}`;
      const value = typeof v === "string" ? v : JSON.stringify(v);
      const vp = textProblem(value, VALUE_RULE);
      if (vp) return `"metadata.${k}" ${vp}`;
      metadata[k] = value;
    }
  }
  return {
    id,
    title: typeof o["title"] === "string" ? o["title"] : "",
    text: typeof o["text"] === "string" ? o["text"] : "",
    contentType: typeof o["content_type"] === "string" ? o["content_type"] : "text/plain",
    metadata,
  };
}

/** Markdown, text and HTML files under a folder, ids = paths relative to it. */
export async function listDirDocuments(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (TYPES[extname(e.name).toLowerCase()]) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

export async function readDirDocument(dir: string, path: string): Promise<DataDocument> {
  const text = await readFile(path, "utf8");
  const contentType = TYPES[extname(path).toLowerCase()] ?? "text/plain";
  const heading =
    contentType === "text/markdown"
      ? /^#\s+(.+)$/m.exec(text)?.[1]
      : contentType === "text/html"
        ? /<title>([^<]*)<\/title>/i.exec(text)?.[1]
        : undefined;
  const id = relative(dir, path);
  return { id, title: heading?.trim() || id, text, contentType, metadata: { path: id } };
}
