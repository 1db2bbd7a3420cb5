import type { ModelRoute } from "@tailor/proto/gateway";
import type { Stopwatch } from "../rag/stopwatch.js";
import type { Caller, RouteResolver } from "../types.js";
import { OpenAiError } from "./errors.js";
import { overheadHeader, type Res, sendJson } from "./http.js";

/**
 * The tenant's routes as OpenAI models: each alias (`prod`, `canary`) and each exact retrieval
 * version behind one, so a caller can pin what it was answered with.
 */
async function models(routes: RouteResolver, caller: Caller, sw: Stopwatch) {
  const list = await sw.wait(routes.list(caller.tenant));
  const seen = new Set<string>();
  const out: ReturnType<typeof entry>[] = [];
  const add = (id: string, r: ModelRoute) => {
    if (id === "" || seen.has(id)) return;
    seen.add(id);
    out.push(entry(id, r, caller.tenant));
  };
  for (const r of list) add(r.alias, r);
  for (const r of list) add(r.retrieval, r);
  return out;
}

function entry(id: string, r: ModelRoute, tenant: string) {
  return {
    id,
    object: "model" as const,
    // Routes carry no creation time; OpenAI clients require the field.
    created: 0,
    owned_by: tenant,
    tailor: {
      alias: r.alias,
      retrieval: r.retrieval,
      embedder: r.embedder,
      generator: r.generator,
      generator_model: r.generatorModel,
      weight: r.weight,
    },
  };
}

export async function listModels(
  routes: RouteResolver,
  caller: Caller,
  res: Res,
  sw: Stopwatch,
): Promise<void> {
  const data = await models(routes, caller, sw);
  sendJson(res, 200, { object: "list", data }, overheadHeader(sw));
}

/** `GET /v1/models/{id}`; `tailor` is prod's other name. */
export async function retrieveModel(
  routes: RouteResolver,
  caller: Caller,
  id: string,
  res: Res,
  sw: Stopwatch,
): Promise<void> {
  const want = id === "tailor" ? "prod" : id;
  const found = (await models(routes, caller, sw)).find((m) => m.id === want);
  if (!found) {
    throw new OpenAiError(
      404,
      `model ${JSON.stringify(id)} is not one of this tenant's routes`,
      "not_found_error",
      "model",
      "model_not_found",
    );
  }
  sendJson(res, 200, { ...found, id }, overheadHeader(sw));
}
