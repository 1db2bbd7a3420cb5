import { create } from "@bufbuild/protobuf";
import {
  type ListRegisteredModelsRequest,
  type ListRegisteredModelsResponse,
  ListRegisteredModelsResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkTenant } from "../rules.js";
import { toModelSummary } from "../views.js";

export function listRegisteredModels(
  ctx: RegistryContext,
  req: ListRegisteredModelsRequest,
): Promise<ListRegisteredModelsResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const db = ctx.database.db;
    const models = await db
      .selectFrom("models")
      .select(["model", "versions"])
      .where("tenant", "=", tenant)
      .where("versions", ">", 0)
      .orderBy("model")
      .execute();
    const aliases = await db
      .selectFrom("aliases")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("alias")
      .execute();
    return create(ListRegisteredModelsResponseSchema, {
      models: models.map((m) =>
        toModelSummary(
          m.model,
          m.versions,
          aliases.filter((a) => a.model === m.model),
        ),
      ),
    });
  });
}
