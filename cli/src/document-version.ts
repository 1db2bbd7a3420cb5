import { createHash } from "node:crypto";
import type { DataDocument } from "@tailor/bus";

/**
 * The version the ingestion service gives this document: the hash of everything that makes its
 * chunks. It mirrors `contentHash` in services/ingestion/src/document-store.ts (the CLI does not
 * load the service); `tailor ingest --wait` compares it with GetDocument's `version`, and the
 * end-to-end test of `--wait` fails if the two drift apart.
 */
export function documentVersion(doc: DataDocument): string {
  const metadata = doc.metadata ?? {};
  const meta = Object.keys(metadata)
    .sort()
    .map((k) => [k, metadata[k]]);
  return createHash("sha256")
    .update(
      JSON.stringify([doc.title ?? "", doc.contentType || "text/plain", doc.text ?? "", meta]),
    )
    .digest("hex")
    .slice(0, 32);
}
