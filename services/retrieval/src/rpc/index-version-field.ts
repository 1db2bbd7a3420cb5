import { parseEmbedderRef } from "@tailor/clients";
import { invalidArgument } from "@tailor/service";

/** An exact index version (`name@version` of its embedder): required, both parts present. */
export function checkIndexVersion(value: string, field = "model_version"): string {
  if (!value) throw invalidArgument(field, "is required (name@version of an embedder)");
  if (value.length > 512) throw invalidArgument(field, "is over 512 characters");
  const ref = parseEmbedderRef(value);
  if (typeof ref === "string") throw invalidArgument(field, ref);
  if (!ref.version || value.trim() !== value)
    throw invalidArgument(field, "must be an exact name@version");
  return value;
}
