import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import type { DataDocument } from "@tailor/bus";

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

/** Reads `{"id","title","text","metadata"}` lines; a bad line fails with its line number. */
export async function* readJsonl(path: string): AsyncGenerator<DataDocument> {
  const rl = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (!line.trim()) continue;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(`${path}:${n}: not JSON (${(err as Error).message})`);
    }
    const id = j["id"];
    if ((typeof id !== "string" && typeof id !== "number") || String(id) === "")
      throw new InputError(`${path}:${n}: "id" is required`);
    if (j["text"] !== undefined && typeof j["text"] !== "string")
      throw new InputError(`${path}:${n}: "text" must be a string`);
    const metadata: Record<string, string> = {};
    if (j["metadata"] && typeof j["metadata"] === "object") {
      for (const [k, v] of Object.entries(j["metadata"] as Record<string, unknown>))
        metadata[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    yield {
      id: String(id),
      title: typeof j["title"] === "string" ? j["title"] : "",
      text: (j["text"] as string | undefined) ?? "",
      contentType: typeof j["content_type"] === "string" ? j["content_type"] : "text/plain",
      metadata,
    };
  }
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
