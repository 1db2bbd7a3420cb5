import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface CisiDoc {
  id: string;
  title: string;
  /** The `.W` abstract only; the title is kept separate so callers choose what to index. */
  text: string;
  authors: string[];
}

export interface CisiQuery {
  id: string;
  /** `.T` (when present) then `.W`, separated by a newline. */
  text: string;
}

export interface CisiCollection {
  docs: CisiDoc[];
  queries: CisiQuery[];
  /** Only queries with at least one judgment appear (76 of the 112 in CISI). */
  qrels: Map<string, Set<string>>;
}

/** One `.I` record: each field tag maps to its occurrences, each a list of raw lines. */
export interface TaggedRecord {
  id: string;
  fields: Map<string, string[][]>;
}

// A field marker is a line holding "." plus one capital letter, optionally followed by inline
// content (".I 12", and ".T " with trailing blanks occurs in the real files). Requiring
// whitespace or end-of-line after the letter keeps abstract lines such as ".. and" as text.
const MARKER = /^\.([A-Z])(?:\s+(.*))?$/;

/**
 * Walks up from this module to the monorepo root (package.json named "tailor"), so the data
 * path does not depend on the process's working directory.
 */
export function findRepoRoot(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith("file:") ? fileURLToPath(from) : resolve(from));
  for (;;) {
    const pkgPath = join(dir, "package.json");
    if (existsSync(pkgPath)) {
      try {
        const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { name?: unknown };
        if (pkg.name === "tailor") return dir;
      } catch {
        // An unreadable or malformed package.json further down is not the root; keep walking.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`repo root (package.json named "tailor") not found`);
    dir = parent;
  }
}

/** Where the CISI files live; the env override is read only here so tests can point elsewhere. */
export function cisiDir(): string {
  const override = process.env["TAILOR_CISI_DIR"];
  if (override !== undefined && override !== "") return resolve(override);
  return resolve(findRepoRoot(), "../shared/data/cisi");
}

/** Splits a SMART-style tagged file (CISI.ALL / CISI.QRY) into records keyed by `.I`. */
export function parseTagged(text: string, source = "input"): TaggedRecord[] {
  const records: TaggedRecord[] = [];
  let current: TaggedRecord | undefined;
  let lines: string[] | undefined;
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const m = MARKER.exec(row);
    if (m) {
      const tag = m[1]!;
      const inline = (m[2] ?? "").trim();
      if (tag === "I") {
        if (inline === "") throw new Error(`${source}:${i + 1}: .I without an id`);
        current = { id: inline, fields: new Map() };
        records.push(current);
        lines = undefined;
        continue;
      }
      if (!current) throw new Error(`${source}:${i + 1}: .${tag} before any .I`);
      // Repeated markers (several ".A" in one record) become separate occurrences.
      lines = inline === "" ? [] : [inline];
      const occurrences = current.fields.get(tag);
      if (occurrences) occurrences.push(lines);
      else current.fields.set(tag, [lines]);
      continue;
    }
    if (lines) lines.push(row);
    else if (row.trim() !== "") {
      throw new Error(`${source}:${i + 1}: text outside any field`);
    }
  }
  return records;
}

function collapse(lines: string[]): string {
  return lines.join(" ").replace(/\s+/g, " ").trim();
}

function fieldText(rec: TaggedRecord, tag: string): string {
  const occ = rec.fields.get(tag) ?? [];
  return occ
    .map(collapse)
    .filter((s) => s !== "")
    .join(" ");
}

function fieldLines(rec: TaggedRecord, tag: string): string[] {
  // Each non-blank line is one author: CISI both repeats ".A" and lists several names under one.
  return (rec.fields.get(tag) ?? [])
    .flat()
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function assertUniqueIds(records: TaggedRecord[], source: string): void {
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.id)) throw new Error(`${source}: duplicate id ${r.id}`);
    seen.add(r.id);
  }
}

export function parseCisiDocs(text: string): CisiDoc[] {
  const records = parseTagged(text, "CISI.ALL");
  assertUniqueIds(records, "CISI.ALL");
  // .B (year), .K, .C and .X (citation cross references) are deliberately dropped: they are not
  // retrieval text, and .X would leak relevance-like signal into the index.
  return records.map((r) => ({
    id: r.id,
    title: fieldText(r, "T"),
    text: fieldText(r, "W"),
    authors: fieldLines(r, "A"),
  }));
}

export function parseCisiQueries(text: string): CisiQuery[] {
  const records = parseTagged(text, "CISI.QRY");
  assertUniqueIds(records, "CISI.QRY");
  // .A and .B (citation of the source article) are metadata, not the information need.
  return records.map((r) => ({
    id: r.id,
    text: [fieldText(r, "T"), fieldText(r, "W")].filter((s) => s !== "").join("\n"),
  }));
}

/** CISI.REL lines are `qid docid 0 0.0`; every listed pair is relevant (the columns are unused). */
export function parseCisiQrels(text: string): Map<string, Set<string>> {
  const qrels = new Map<string, Set<string>>();
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.trim();
    if (row === "") continue;
    const parts = row.split(/\s+/);
    if (parts.length < 2) throw new Error(`CISI.REL:${i + 1}: expected "qid docid ..."`);
    const [qid, docId] = parts as [string, string];
    let set = qrels.get(qid);
    if (!set) {
      set = new Set();
      qrels.set(qid, set);
    }
    set.add(docId);
  }
  return qrels;
}

export function loadCisi(dir: string = cisiDir()): CisiCollection {
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return {
    docs: parseCisiDocs(read("CISI.ALL")),
    queries: parseCisiQueries(read("CISI.QRY")),
    qrels: parseCisiQrels(read("CISI.REL")),
  };
}
