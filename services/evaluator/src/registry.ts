import { Code, ConnectError } from "@connectrpc/connect";
import type { EvaluatorContext } from "./context.js";
import { modelOf } from "./fields.js";

const CALL = { timeoutMs: 30_000 };

/** A registry failure as the evaluator's caller should see it: its code, the registry named. */
function registryError(err: unknown, what: string): ConnectError {
  const e = ConnectError.from(err);
  if (e.code === Code.NotFound) return new ConnectError(`${what} not found`, Code.NotFound);
  const code =
    e.code === Code.InvalidArgument || e.code === Code.FailedPrecondition
      ? Code.FailedPrecondition
      : Code.Unavailable;
  return new ConnectError(`registry (${what}): ${e.rawMessage}`, code);
}

/** NOT_FOUND when the tenant has no such version. */
export async function requireVersion(
  ctx: EvaluatorContext,
  tenant: string,
  version: string,
): Promise<void> {
  try {
    await ctx.registry.getVersion({ tenant, version }, CALL);
  } catch (err) {
    throw registryError(err, `version "${version}"`);
  }
}

/** The exact version an alias points at now; NOT_FOUND when the alias or model is unknown. */
export async function resolveAlias(
  ctx: EvaluatorContext,
  tenant: string,
  alias: string,
  model = ctx.config.model,
): Promise<string> {
  let version: string | undefined;
  try {
    const r = await ctx.registry.resolveAlias({ tenant, model, alias }, CALL);
    version = r.alias?.version || r.version?.version;
  } catch (err) {
    throw registryError(err, `alias "${alias}" of model ${model}`);
  }
  if (!version)
    throw new ConnectError(`alias "${alias}" of model ${model} not found`, Code.NotFound);
  return version;
}

/** The champion a candidate is judged against: what prod of the candidate's model points at. */
export function resolveProd(ctx: EvaluatorContext, tenant: string, candidate: string) {
  return resolveAlias(ctx, tenant, "prod", modelOf(candidate));
}

export async function attachReport(
  ctx: EvaluatorContext,
  tenant: string,
  version: string,
  report: string,
): Promise<void> {
  try {
    await ctx.registry.attachReport({ tenant, version, report }, CALL);
  } catch (err) {
    throw registryError(err, `attaching report to "${version}"`);
  }
}

export async function promote(
  ctx: EvaluatorContext,
  tenant: string,
  version: string,
  alias: "canary" | "prod",
  weight: number,
  reason: string,
): Promise<void> {
  try {
    await ctx.registry.promote({ tenant, version, alias, weight, reason }, CALL);
  } catch (err) {
    throw registryError(err, `promoting "${version}" to ${alias}`);
  }
}

export async function reject(
  ctx: EvaluatorContext,
  tenant: string,
  version: string,
  reason: string,
  report: string,
): Promise<void> {
  try {
    await ctx.registry.reject({ tenant, version, reason, report }, CALL);
  } catch (err) {
    throw registryError(err, `rejecting "${version}"`);
  }
}
