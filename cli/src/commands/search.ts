import { toJson } from "@bufbuild/protobuf";
import { SearchResponseSchema } from "@tailor/proto";
import { printable } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { EXIT, UsageError } from "../errors.js";
import type { Globals } from "../program.js";
import { batchSearch, type ModeName, searchOnce } from "../search.js";

interface SearchOpts {
  tenant: string;
  k?: number;
  mode: ModeName;
  source?: string[];
  meta?: Record<string, string>;
  json: boolean;
  topics?: string;
  run?: string;
  tag: string;
}

export async function runSearch(words: string[], o: SearchOpts, g: Globals): Promise<number> {
  const config = parseCliConfig(process.env);
  const client = clientsFor(config, g.timeoutMs).retrieval;
  if (o.topics || o.run) {
    if (!o.topics || !o.run)
      throw new UsageError("batch mode needs both --topics FILE and --run OUT");
    if (words.length > 0) throw new UsageError("give either a query or --topics, not both");
    const r = await batchSearch(client, {
      tenant: o.tenant,
      topics: o.topics,
      run: o.run,
      k: o.k ?? 1000,
      mode: o.mode,
      tag: o.tag,
    });
    console.log(`wrote ${r.lines} lines for ${r.topics} topics to ${o.run}`);
    return EXIT.ok;
  }
  const query = words.join(" ");
  if (!query.trim())
    throw new UsageError('give a query, e.g. tailor search --tenant acme "rotate keys"');
  const r = await searchOnce(client, {
    tenant: o.tenant,
    query,
    k: o.k ?? 10,
    mode: o.mode,
    sources: o.source,
    metadata: o.meta,
  });
  if (o.json) {
    // The response as the Connect JSON API would give it, every field of every hit included.
    console.log(
      JSON.stringify(
        toJson(SearchResponseSchema, r.response, { alwaysEmitImplicit: true }),
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  if (r.hits.length === 0) console.log("no results");
  r.hits.forEach((h, i) => {
    const snippet = printable(h.text.replace(/\s+/g, " "), 160);
    console.log(
      `${String(i + 1).padStart(2)}. ${h.score.toFixed(4)}  ${printable(`${h.source}/${h.documentId}#${h.chunkIndex}  ${h.title}`)}\n    ${snippet}`,
    );
  });
  return EXIT.ok;
}
