import { stat } from "node:fs/promises";
import { join } from "node:path";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT } from "../errors.js";
import type { Globals } from "../program.js";

const FOLDER_NEEDS = `A model folder is a Hugging Face/Optimum ONNX export (e.g. optimum-cli export onnx --model <id> <dir>) holding:
  config.json            the Hugging Face config; "architectures" says embedder, reranker, classifier or causal-lm
  model.onnx             the ONNX graph
  tokenizer.json         the fast tokenizer (adapters use their base's)
  tokenizer_config.json  optional
  1_Pooling/config.json  optional: sentence-transformers pooling (mean, cls or last token)`;

/** `tailor models publish DIR`: checks the folder first, so a wrong path says what a model folder needs. */
export async function runPublish(
  dir: string,
  o: { name: string; version: string; root?: string },
  _g: Globals,
): Promise<number> {
  const root = o.root ?? join(parseCliConfig(process.env).dataDir, "models");
  const kind = await stat(dir).catch(() => undefined);
  if (!kind) throw new CliError(`${dir}: no such folder\n${FOLDER_NEEDS}`);
  if (!kind.isDirectory())
    throw new CliError(`${dir} is a file, not a model folder\n${FOLDER_NEEDS}`);
  const missing: string[] = [];
  for (const f of ["config.json", "model.onnx"])
    if (!(await stat(join(dir, f)).catch(() => undefined))?.isFile()) missing.push(f);
  if (missing.length > 0)
    throw new CliError(
      `${dir} is not a model folder: no ${missing.join(", no ")}\n${FOLDER_NEEDS}`,
    );
  // Hashing and copying need only node:fs; loaded here so other commands never parse it.
  const { publishArtifact } = await import("@tailor/artifacts");
  const m = await publishArtifact(dir, o.name, o.version, { root });
  console.log(
    `published ${m.name}@${m.version} (${m.kind}, ${Object.keys(m.files).length} files) to ${root}`,
  );
  return EXIT.ok;
}

/** LoadModel and UnloadModel are admin calls: send the token when one is known. */
function adminHeaders(): Record<string, string> {
  const token = parseCliConfig(process.env).adminToken;
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function runLoad(
  o: { name: string; version?: string; base?: string },
  g: Globals,
): Promise<number> {
  const r = await models(g).loadModel(
    { name: o.name, version: o.version ?? "", base: o.base ?? "" },
    { headers: adminHeaders() },
  );
  console.log(
    `loaded ${r.model?.name}@${r.model?.version} (${r.model?.kind} on ${r.model?.executionProvider})`,
  );
  return EXIT.ok;
}

export async function runUnload(
  o: { name: string; version?: string },
  g: Globals,
): Promise<number> {
  await models(g).unloadModel(
    { name: o.name, version: o.version ?? "" },
    { headers: adminHeaders() },
  );
  console.log(`unloaded ${o.name}${o.version ? `@${o.version}` : ""}`);
  return EXIT.ok;
}

export async function runList(o: { json: boolean }, g: Globals): Promise<number> {
  const r = await models(g).listModels({});
  if (o.json) {
    const list = r.models.map((m) => ({
      name: m.name,
      version: m.version,
      kind: m.kind,
      executionProvider: m.executionProvider,
      dimensions: m.dimensions,
      memoryBytes: Number(m.memoryBytes),
      queueDepth: m.queueDepth,
    }));
    console.log(JSON.stringify(list, null, 2));
    return EXIT.ok;
  }
  if (r.models.length === 0) console.log("no models loaded");
  for (const m of r.models)
    console.log(
      `${m.name}@${m.version}  ${m.kind}  ${m.executionProvider}  dims=${m.dimensions}  mem=${(Number(m.memoryBytes) / 2 ** 20).toFixed(0)}MiB  queue=${m.queueDepth}`,
    );
  return EXIT.ok;
}

function models(g: Globals) {
  return clientsFor(parseCliConfig(process.env), g.timeoutMs).models;
}
