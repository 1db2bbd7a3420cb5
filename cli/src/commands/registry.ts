import { toJson } from "@bufbuild/protobuf";
import {
  type Alias,
  AliasSchema,
  type ModelSummary,
  ModelSummarySchema,
  type ModelVersion,
  ModelVersionSchema,
  VersionState,
} from "@tailor/proto";
import { printable } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT, UsageError } from "../errors.js";
import type { Globals } from "../program.js";

const registry = (g: Globals) => clientsFor(parseCliConfig(process.env), g.timeoutMs).registry;
// Protobuf JSON (camelCase), as `search --json` prints its answer.
const JSON_OPTS = { alwaysEmitImplicit: true } as const;

/** `tailor models list --tenant T`. */
export async function runModels(o: { tenant: string; json: boolean }, g: Globals): Promise<number> {
  const { models } = await registry(g).listRegisteredModels({ tenant: o.tenant });
  if (o.json)
    console.log(
      JSON.stringify(
        models.map((m) => toJson(ModelSummarySchema, m, JSON_OPTS)),
        null,
        2,
      ),
    );
  else if (models.length === 0) console.log(`no registered models for tenant ${o.tenant}`);
  else for (const m of models) console.log(modelLines(m).join("\n"));
  return EXIT.ok;
}

export function modelLines(m: ModelSummary): string[] {
  const n = m.versions;
  return [
    `${printable(m.model, 128)}  ${n} version${n === 1 ? "" : "s"}, latest ${m.latestVersion || "none"}`,
    ...m.aliases.map((a) => `  ${aliasLine(a)}`),
  ];
}

/** `prod    → retrieval@v2  weight 1  since 2026-…`. */
export function aliasLine(a: Alias): string {
  const since = a.updatedAt ? `  since ${a.updatedAt.replace(/\.\d+/, "")}` : "";
  return `${printable(a.name, 64).padEnd(7)} → ${a.version}  weight ${a.weight}${since}`;
}

interface ShowOpts {
  tenant: string;
  alias?: string;
  model: string;
  json?: boolean;
}

/** `tailor models show`: one version (by name or alias) in full; neither: every version. */
export async function runShow(
  version: string | undefined,
  o: ShowOpts,
  g: Globals,
): Promise<number> {
  if (version && o.alias) throw new UsageError("give a VERSION or --alias, not both");
  const client = registry(g);
  if (!version && !o.alias) {
    const r = await client.listVersions({ tenant: o.tenant, model: o.model });
    if (o.json) {
      const versions = r.versions.map((v) => toJson(ModelVersionSchema, v, JSON_OPTS));
      const aliases = r.aliases.map((a) => toJson(AliasSchema, a, JSON_OPTS));
      console.log(JSON.stringify({ model: o.model, versions, aliases }, null, 2));
    } else if (r.versions.length === 0)
      console.log(`no versions of ${o.model} for tenant ${o.tenant}`);
    else for (const v of r.versions) console.log(versionSummary(v));
    return EXIT.ok;
  }
  let v: ModelVersion | undefined;
  let alias: Alias | undefined;
  if (version) ({ version: v } = await client.getVersion({ tenant: o.tenant, version }));
  else
    ({ version: v, alias } = await client.resolveAlias({
      tenant: o.tenant,
      model: o.model,
      alias: o.alias as string,
    }));
  if (!v) throw new CliError(`registry: no version ${version ?? `behind alias ${o.alias}`}`);
  if (o.json) {
    const out = toJson(ModelVersionSchema, v, JSON_OPTS) as Record<string, unknown>;
    if (alias) out["alias"] = toJson(AliasSchema, alias, JSON_OPTS);
    console.log(JSON.stringify(out, null, 2));
  } else console.log(versionLines(v, alias).join("\n"));
  return EXIT.ok;
}

export function stateLabel(s: VersionState): string {
  switch (s) {
    case VersionState.CANDIDATE:
      return "candidate";
    case VersionState.PROMOTED:
      return "promoted";
    case VersionState.REJECTED:
      return "rejected";
    case VersionState.UNSPECIFIED:
      return "unknown";
    default: {
      const never: never = s;
      return `state ${String(never)}`;
    }
  }
}

/** One line a version: `retrieval@v3  candidate  from retrieval@v2  job J  all  [canary]`. */
export function versionSummary(v: ModelVersion): string {
  const l = v.lineage;
  const aliases = v.aliases.length ? `  [${v.aliases.join(", ")}]` : "";
  const from = l?.parentVersion ? `  from ${l.parentVersion}` : "";
  const job = l?.trainingJob ? `  job ${l.trainingJob}` : "";
  return `${v.version}  ${stateLabel(v.state)}${from}${job}  ${l?.kind || "-"}  ${v.createdAt.replace(/\.\d+/, "")}${aliases}`;
}

/** A version in full: state, aliases, lineage, spec. */
export function versionLines(v: ModelVersion, alias?: Alias): string[] {
  const l = v.lineage;
  const s = v.spec;
  const row = (k: string, val: string) => `  ${k.padEnd(13)}${val}`;
  const lines = [
    `${v.version}  (model ${v.model}, tenant ${v.tenant})`,
    row("state", stateLabel(v.state)),
    row("aliases", v.aliases.length ? v.aliases.join(", ") : "none"),
    row("created", v.createdAt),
  ];
  if (alias) lines.push(row("via alias", `${alias.name} (weight ${alias.weight})`));
  if (v.rejection) lines.push(row("rejected", printable(v.rejection, 500)));
  lines.push("lineage");
  lines.push(row("parent", l?.parentVersion || "none (base version)"));
  lines.push(row("job", l?.trainingJob || "none"));
  lines.push(row("kind", l?.kind || "-"));
  lines.push(row("dataset", l?.datasetHash || "-"));
  lines.push(row("seed", String(l?.seed ?? 0n)));
  lines.push(row("artifacts", l?.artifacts.length ? l.artifacts.join(", ") : "none"));
  lines.push(row("reports", l?.reports.length ? l.reports.join(", ") : "none"));
  lines.push("spec");
  if (s) {
    lines.push(row("embedder", s.embedder || "-"));
    lines.push(row("bm25", `k1=${s.bm25K1} b=${s.bm25B}`));
    lines.push(
      row(
        "rm3",
        s.rm3Docs > 0 ? `docs=${s.rm3Docs} terms=${s.rm3Terms} weight=${s.rm3Weight}` : "off",
      ),
    );
    lines.push(row("dense weight", String(s.denseWeight)));
    lines.push(row("candidates", String(s.candidates)));
    const r = s.reranker;
    lines.push(
      row(
        "reranker",
        r
          ? `linear over ${r.features.length} features (${r.features.join(", ")}), depth ${r.depth}`
          : "none",
      ),
    );
  } else lines.push(row("-", "no spec"));
  return lines;
}

interface PromoteOpts {
  tenant: string;
  alias: "prod" | "canary";
  weight?: number;
  reason?: string;
}

/** A canary's share of traffic when none is given: the evaluator's default gate weight. */
export const DEFAULT_CANARY_WEIGHT = 0.1;

/** The request promote sends; --weight belongs to a canary only. */
export function promoteRequest(version: string, o: PromoteOpts) {
  if (o.alias === "prod" && o.weight !== undefined)
    throw new UsageError("--weight is a canary's share of traffic; prod takes all of it");
  return {
    tenant: o.tenant,
    version,
    alias: o.alias,
    weight: o.alias === "canary" ? (o.weight ?? DEFAULT_CANARY_WEIGHT) : 1,
    reason: o.reason ?? "",
  };
}

export async function runPromote(version: string, o: PromoteOpts, g: Globals): Promise<number> {
  const req = promoteRequest(version, o);
  const r = await registry(g).promote(req);
  const a = r.alias;
  const was = r.previousVersion ? `; was ${r.previousVersion}` : "";
  console.log(
    `${a?.name ?? req.alias} → ${a?.version ?? version} (weight ${a?.weight ?? req.weight}${was})`,
  );
  return EXIT.ok;
}

export async function runRollback(
  o: { tenant: string; model: string; alias: string; reason?: string },
  g: Globals,
): Promise<number> {
  const r = await registry(g).rollback({
    tenant: o.tenant,
    model: o.model,
    alias: o.alias,
    reason: o.reason ?? "",
  });
  const a = r.alias;
  console.log(
    `${a?.name ?? o.alias} → ${a?.version ?? "?"} (rolled back from ${r.rolledBackVersion || "?"})`,
  );
  return EXIT.ok;
}
