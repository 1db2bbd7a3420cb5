import fc from "fast-check";
import { type HostileDoc, type HostileOptions, hostileDoc, type Verdict } from "./hostile-doc.js";

/** An IngestDocuments call: clean, or with exactly one defect whose field path the answer must start with. */
export interface HostileCall {
  tenant?: string;
  source?: string;
  documents: HostileDoc[];
  verdict: Verdict;
  label: string;
}

const rpcToken = fc.oneof(
  fc.constantFrom("", " ", "a.b", "*", ">", "a b", "a\nb", "a\u0000b", "\ud800", "é"),
  fc.integer({ min: 129, max: 300 }).map((n) => "t".repeat(n)),
);

/**
 * IngestDocuments requests for a transport that carries lone surrogates as they are (Connect
 * JSON). Only the first defective document keeps its defect, so the field path is known.
 */
export function hostileCall(o: HostileOptions): fc.Arbitrary<HostileCall> {
  const docs = fc.array(hostileDoc(o), { minLength: 1, maxLength: 5 });
  return fc
    .tuple(docs, fc.noBias(fc.nat({ max: 99 })), rpcToken, fc.boolean())
    .map(([ds, roll, token, isTenant]): HostileCall => {
      if (roll < 10) {
        const field = isTenant ? "tenant" : "source";
        return {
          [field]: token,
          documents: ds.map((_, i) => cleanDoc(i)),
          verdict: { kind: "bad", field, reason: fieldPath(`^${field}\\b`, field) },
          label: `${field} ${JSON.stringify(token)}`,
        };
      }
      // Four calls in ten are clean; the rest keep the first defective document's defect.
      const first = roll < 50 ? -1 : ds.findIndex((d) => d.verdict.kind !== "good");
      const documents = ds.map((d, i) =>
        i === first || d.verdict.kind === "good" ? d.doc : cleanDoc(i),
      );
      // Ids must differ inside one call (a repeated id is its own defect).
      const seen = new Set<string>(first >= 0 ? [documents[first]!.id] : []);
      for (const [i, d] of documents.entries()) {
        if (i === first) continue;
        if (seen.has(d.id)) documents[i] = { ...d, id: `clean-${i}` };
        seen.add(documents[i]!.id);
      }
      const hit = ds[first];
      if (!hit || hit.verdict.kind === "good" || hit.verdict.kind === "any")
        return { documents, verdict: { kind: "good" }, label: "clean call" };
      const path = `documents[${first}].${hit.verdict.field}`;
      const escaped = path.replace(/[.[\]]/g, "\\$&");
      return {
        documents,
        verdict: {
          ...hit.verdict,
          field: path,
          reason: fieldPath(`^${escaped}`, hit.verdict.field),
        },
        label: `documents[${first}]: ${hit.label}`,
      };
    });
}

/**
 * An answer that starts with the field path. A lone surrogate in Connect JSON is refused by
 * protobuf-es itself while it decodes the request, before any handler runs ("cannot decode field
 * tailor.ingestion.v1.DocumentInput.text from JSON: ... invalid UTF8"): that names the field but
 * not the document's index, and is accepted too.
 */
function fieldPath(source: string, leaf: string): RegExp {
  return new RegExp(`${source}|^cannot decode field [\\w.]+\\.${leaf}\\b`);
}

function cleanDoc(i: number): HostileDoc {
  return {
    id: `clean-${i}`,
    title: "Clean",
    text: "clean text",
    contentType: "text/plain",
    metadata: {},
  };
}
