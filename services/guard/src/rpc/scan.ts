import { setImmediate } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import type { Insertable } from "@tailor/db";
import {
  type ScanRequest,
  type ScanResponse,
  ScanResponseSchema,
  type ScanResult,
  ScanResultSchema,
} from "@tailor/proto";
import { isFieldError } from "@tailor/service";
import type { GuardContext } from "../context.js";
import type { OutboxTable } from "../db/schema.js";
import { rpc } from "../errors.js";
import { violationRow } from "../events.js";
import {
  checkCount,
  checkGuardedText,
  checkOptionalId,
  checkTenant,
  MAX_SCAN_ITEMS,
} from "../rules.js";
import { judge } from "../verdict.js";

/** Many texts: one result per item, in order; an item that breaks a rule gets its own error. */
export function scan(ctx: GuardContext, req: ScanRequest): Promise<ScanResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkCount("items", req.items.length, MAX_SCAN_ITEMS);
    const g = await ctx.guards.get(tenant);
    const results: ScanResult[] = [];
    const audit: Insertable<OutboxTable>[] = [];
    for (const [i, item] of req.items.entries()) {
      try {
        checkOptionalId(`items[${i}].id`, item.id);
        checkGuardedText(`items[${i}].text`, item.text);
      } catch (err) {
        if (!isFieldError(err)) throw err;
        // The id is echoed only when it is itself clean.
        const id = err.field.endsWith(".id") ? "" : item.id;
        results.push(create(ScanResultSchema, { id, error: err.message }));
        continue;
      }
      const { verdict, violation } = judge(g, req.asContent ? "content" : "scan", item.text);
      results.push(create(ScanResultSchema, { id: item.id, verdict }));
      if (violation)
        audit.push(
          violationRow(ctx.bus.subjects, { ...violation, stage: "scan", interaction: item.id }),
        );
      // A batch of large texts must not hold the event loop for its whole length.
      if (i % 32 === 31) await setImmediate();
    }
    await ctx.audit(audit);
    return create(ScanResponseSchema, { results });
  });
}
