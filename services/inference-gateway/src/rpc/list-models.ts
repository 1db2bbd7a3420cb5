import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type ListModelsResponse, ListModelsResponseSchema } from "@tailor/proto/gateway";
import { Stopwatch } from "../rag/stopwatch.js";
import { authorize, type GatewayDeps } from "./deps.js";

/** The caller's tenant's routes and the exact versions behind them. */
export async function listModels(d: GatewayDeps, hc: HandlerContext): Promise<ListModelsResponse> {
  const caller = await authorize(d, hc, new Stopwatch());
  return create(ListModelsResponseSchema, { routes: await d.routes.list(caller.tenant) });
}
