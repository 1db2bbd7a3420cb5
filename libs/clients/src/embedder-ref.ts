import { z } from "@tailor/config";
import type { Logger } from "@tailor/telemetry";
import { EmbedderClient } from "./embedder-client.js";

/** An embedder named exactly: the model and the version every vector and query of it carries. */
export interface EmbedderRef {
  model: string;
  version: string;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `name@version` — the one spelling of an exact embedder version (index versions, answers). */
export function formatEmbedderRef(r: EmbedderRef): string {
  return `${r.model}@${r.version}`;
}

/**
 * Parses "", `name` or `name@version` (config values); a problem string when malformed.
 * An empty model means the model-server's default embedder, an empty version its newest.
 */
export function parseEmbedderRef(s: string): EmbedderRef | string {
  const t = s.trim();
  if (!t) return { model: "", version: "" };
  const at = t.indexOf("@");
  const model = at === -1 ? t : t.slice(0, at);
  const version = at === -1 ? "" : t.slice(at + 1);
  if (!SEGMENT.test(model)) return `model name ${JSON.stringify(model)} is not [A-Za-z0-9._-]+`;
  if (at !== -1 && !SEGMENT.test(version))
    return `version ${JSON.stringify(version)} of ${model} is not [A-Za-z0-9._-]+`;
  return { model, version };
}

/**
 * The exact embedder a partial reference means, resolved once: an exact `name@version` is
 * returned as it is; otherwise one probe Embed call (retried while the model-server is away)
 * asks the model-server which model and version it serves for it now.
 */
export async function resolveEmbedder(
  baseUrl: string,
  ref: EmbedderRef,
  logger: Logger,
  signal?: AbortSignal,
): Promise<EmbedderRef> {
  if (ref.model && ref.version) return ref;
  const probe = new EmbedderClient(baseUrl, ref.model, logger);
  const r = await probe.embed(["version probe"], { signal });
  return { model: r.model, version: r.version };
}

/** A config variable holding "", `name` or `name@version`; a malformed value fails at start naming it. */
export const embedderRefSetting = z
  .string()
  .default("")
  .transform((s, ctx) => {
    const r = parseEmbedderRef(s);
    if (typeof r !== "string") return r;
    ctx.addIssue({ code: "custom", message: r });
    return z.NEVER;
  });
