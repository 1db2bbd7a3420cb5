import { create } from "@bufbuild/protobuf";
import {
  type BuildIndexVersionRequest,
  type BuildIndexVersionResponse,
  BuildIndexVersionResponseSchema,
} from "@tailor/proto";
import type { IndexBuilder } from "../index-builder.js";
import { checkIndexVersion } from "./index-version-field.js";
import { checkTenant } from "./tenant.js";

/**
 * Builds the tenant's index at `model_version` beside the served one (or resumes, or joins the
 * running build). With `wait` it answers when the version is whole; without, at once, with how
 * far it is (`vectors` of `chunks`).
 */
export async function buildIndexVersion(
  builder: IndexBuilder,
  req: BuildIndexVersionRequest,
): Promise<BuildIndexVersionResponse> {
  const tenant = checkTenant(req.tenant);
  const version = checkIndexVersion(req.modelVersion);
  const s = await builder.build(tenant, version, req.wait);
  return create(BuildIndexVersionResponseSchema, {
    modelVersion: s.modelVersion,
    vectors: BigInt(s.vectors),
    chunks: BigInt(s.chunks),
    done: s.done,
  });
}
