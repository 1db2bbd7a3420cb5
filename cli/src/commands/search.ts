import { toJson } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type RegistryService, SearchResponseSchema } from "@tailor/proto";
import { printable } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT, UsageError } from "../errors.js";
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
  tag?: string;
  version?: string;
  alias?: "prod" | "canary";
}

export async function runSearch(words: string[], o: SearchOpts, g: Globals): Promise<number> {
  const config = parseCliConfig(process.env);
  const client = clientsFor(config, g.timeoutMs).retrieval;
  if (o.topics || o.run) {
    if (!o.topics || !o.run)
      throw new UsageError("batch mode needs both --topics FILE and --run OUT");
    if (words.length > 0) throw new UsageError("give either a query or --topics, not both");
    // A run is made at one version: an alias is resolved once, here, not per query.
    const version = o.alias
      ? await aliasVersion(clientsFor(config, g.timeoutMs).registry, o.tenant, o.alias)
      : o.version;
    const r = await batchSearch(client, {
      tenant: o.tenant,
      topics: o.topics,
      run: o.run,
      k: o.k ?? 1000,
      mode: o.mode,
      tag: o.tag,
      version,
    });
    console.log(
      `wrote ${r.lines} lines for ${r.topics} topics to ${o.run} (searched ${r.version || "the default version"}, tag ${r.tag})`,
    );
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
    version: o.version,
    alias: o.alias,
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
  const at = r.version || r.modelVersion;
  if (at)
    console.log(`searched ${at}${r.version && r.modelVersion ? ` (index ${r.modelVersion})` : ""}`);
  if (r.hits.length === 0) console.log("no results");
  r.hits.forEach((h, i) => {
    const snippet = printable(h.text.replace(/\s+/g, " "), 160);
    console.log(
      `${String(i + 1).padStart(2)}. ${h.score.toFixed(4)}  ${printable(`${h.source}/${h.documentId}#${h.chunkIndex}  ${h.title}`)}\n    ${snippet}`,
    );
  });
  return EXIT.ok;
}

/** The version an alias points at now, from the registry. */
async function aliasVersion(
  registry: Client<typeof RegistryService>,
  tenant: string,
  alias: string,
): Promise<string> {
  const r = await registry.resolveAlias({ tenant, model: "retrieval", alias });
  const version = r.alias?.version || r.version?.version;
  if (!version)
    throw new CliError(`registry: alias ${alias} of tenant ${tenant} points at no version`);
  return version;
}
