import { create } from "@bufbuild/protobuf";
import { type RedactRequest, type RedactResponse, RedactResponseSchema } from "@tailor/proto";
import type { GuardContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkGuardedText, checkTenant } from "../rules.js";

/** PII spans replaced by `[TYPE]`; a transformation asked for, so no violation is recorded. */
export function redactText(ctx: GuardContext, req: RedactRequest): Promise<RedactResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkGuardedText("text", req.text);
    const guard = (await ctx.guards.get(tenant)).guards.input;
    const pii = guard.detectPii(req.text);
    return create(RedactResponseSchema, {
      text: guard.redact(req.text),
      pii: pii.map((f) => ({ type: f.type, start: f.start, end: f.end, score: f.score })),
    });
  });
}
