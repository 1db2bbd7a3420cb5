import { toJson } from "@bufbuild/protobuf";
import { type Document, DocumentSchema, GetDocumentResponseSchema } from "@tailor/proto";
import { count, printable } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { EXIT } from "../errors.js";
import type { Globals } from "../program.js";

const clients = (g: Globals) => clientsFor(parseCliConfig(process.env), g.timeoutMs);

export async function runStats(o: { tenant: string; json: boolean }, g: Globals): Promise<number> {
  const r = await clients(g).retrieval.stats({ tenant: o.tenant });
  const s = {
    tenant: o.tenant,
    documents: Number(r.documents),
    chunks: Number(r.chunks),
    vectors: Number(r.vectors),
    modelVersion: r.modelVersion,
  };
  if (o.json) console.log(JSON.stringify(s, null, 2));
  else
    console.log(
      `tenant ${s.tenant}: ${count(s.documents, "document")}, ${count(s.chunks, "chunk")}, ${count(s.vectors, "vector")}${s.modelVersion ? ` (model ${s.modelVersion})` : " (nothing indexed yet)"}`,
    );
  return EXIT.ok;
}

export async function runList(
  o: { tenant: string; source?: string; limit: number; pageToken?: string; json: boolean },
  g: Globals,
): Promise<number> {
  const ingestion = clients(g).ingestion;
  const docs: Document[] = [];
  let token = o.pageToken ?? "";
  do {
    const r = await ingestion.listDocuments({
      tenant: o.tenant,
      source: o.source ?? "",
      pageSize: Math.min(1000, o.limit - docs.length),
      pageToken: token,
    });
    docs.push(...r.documents);
    token = r.nextPageToken;
  } while (token && docs.length < o.limit);
  if (o.json) {
    const documents = docs.map((d) => toJson(DocumentSchema, d, { alwaysEmitImplicit: true }));
    console.log(JSON.stringify({ documents, nextPageToken: token }, null, 2));
    return EXIT.ok;
  }
  if (docs.length === 0) {
    console.log(`no documents for tenant ${o.tenant}${o.source ? `, source ${o.source}` : ""}`);
    return EXIT.ok;
  }
  const rows = docs.map((d) => [
    d.updatedAt.replace(/\.\d+/, ""),
    printable(`${d.source}/${d.id}`, 60),
    String(d.revision),
    String(d.chunkCount),
    printable(d.title, 60),
  ]);
  for (const line of table(["UPDATED", "SOURCE/ID", "REV", "CHUNKS", "TITLE"], rows))
    console.log(line);
  if (token)
    console.log(
      `… more: tailor list --tenant ${o.tenant}${o.source ? ` --source ${o.source}` : ""} --page-token ${token}`,
    );
  return EXIT.ok;
}

export async function runGet(
  id: string,
  o: { tenant: string; source: string; chunks: boolean; json: boolean },
  g: Globals,
): Promise<number> {
  const r = await clients(g).ingestion.getDocument({
    tenant: o.tenant,
    source: o.source,
    id,
    includeChunks: o.chunks,
  });
  if (o.json) {
    const j = toJson(GetDocumentResponseSchema, r, { alwaysEmitImplicit: true });
    console.log(JSON.stringify(j, null, 2));
    return EXIT.ok;
  }
  const d = r.document;
  if (!d) return EXIT.failed;
  const meta = Object.entries(d.metadata).map(([k, v]) => `${k}=${v}`);
  const lines = [
    `${d.source}/${d.id} (tenant ${d.tenant})`,
    `  title     ${d.title}`,
    `  type      ${d.contentType}`,
    `  version   ${d.version} (revision ${d.revision})`,
    `  updated   ${d.updatedAt}`,
    `  chunks    ${d.chunkCount}`,
    `  metadata  ${meta.length ? meta.join(", ") : "(none)"}`,
  ];
  for (const c of r.chunks) {
    lines.push(
      `  chunk ${c.index} (${c.tokenCount} tokens, ${c.chunkId}): ${c.text.replace(/\s+/g, " ").slice(0, 120)}`,
    );
  }
  for (const l of lines) console.log(printable(l, 400));
  return EXIT.ok;
}

export async function runDelete(
  id: string,
  o: { tenant: string; source: string },
  g: Globals,
): Promise<number> {
  const r = await clients(g).ingestion.deleteDocument({ tenant: o.tenant, source: o.source, id });
  console.log(
    printable(
      `deleted ${o.source}/${id} of tenant ${o.tenant} (${count(r.chunksRetired, "chunk")} retired from the index)`,
    ),
  );
  return EXIT.ok;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}
