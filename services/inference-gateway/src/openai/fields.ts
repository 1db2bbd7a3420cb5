import { ID_RULE, KEY_RULE, type TextRule, textProblem } from "@tailor/service";
import type { RouteRequest } from "../types.js";
import { invalidRequest } from "./errors.js";

/** Readers of untyped JSON fields that refuse a wrong type with a 400 naming the field. */

export type Json = Record<string, unknown>;

const typeName = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;

export function object(v: unknown, field: string | null): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw invalidRequest(field, `must be a JSON object, not ${typeName(v)}`);
  }
  return v as Json;
}

/** An absent or null field is undefined. */
export function optional<T>(
  o: Json,
  key: string,
  read: (v: unknown, field: string) => T,
  field = key,
): T | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : read(v, field);
}

export function string(v: unknown, field: string, rule: TextRule): string {
  if (typeof v !== "string") throw invalidRequest(field, `must be a string, not ${typeName(v)}`);
  const problem = textProblem(v, rule);
  if (problem) throw invalidRequest(field, problem);
  return v;
}

export function boolean(v: unknown, field: string): boolean {
  if (typeof v !== "boolean")
    throw invalidRequest(field, `must be true or false, not ${typeName(v)}`);
  return v;
}

export function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw invalidRequest(field, `must be an integer, not ${typeName(v)}`);
  }
  if (v < min || v > max) throw invalidRequest(field, `must be between ${min} and ${max}`);
  return v;
}

export function array(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw invalidRequest(field, `must be an array, not ${typeName(v)}`);
  if (v.length > max) throw invalidRequest(field, `has ${v.length} items, at most ${max} allowed`);
  return v;
}

/** Routing keys, user ids and similar short identifiers. */
const SHORT_ID: TextRule = { ...ID_RULE, required: false };
const METADATA_VALUE: TextRule = { maxBytes: 1024, control: "reject" };

/**
 * The route a `model` names: `tailor` or `prod` the tenant's prod alias, an exact version
 * (`retrieval@v3`) itself, any other name an alias the route resolver knows or refuses.
 */
export function routeOf(model: string, routingKey: string): RouteRequest {
  if (model === "tailor" || model === "prod") return { alias: "prod", version: "", routingKey };
  if (model.includes("@")) return { alias: "", version: model, routingKey };
  return { alias: model, version: "", routingKey };
}

/** The required `model` field. */
export function model(body: Json): string {
  if (body["model"] === undefined || body["model"] === null) {
    throw invalidRequest("model", "is required (`tailor`, `prod`, `canary` or an exact version)");
  }
  return string(body["model"], "model", ID_RULE);
}

/** `x-tailor-routing-key`, else the body's `user`: keeps one caller on one side of a canary. */
export function routingKey(headerValue: string | undefined, body: Json): string {
  if (headerValue !== undefined) return string(headerValue, "x-tailor-routing-key", SHORT_ID);
  return optional(body, "user", (v, f) => string(v, f, SHORT_ID)) ?? "";
}

/** Tailor's own request options, in the body's `tailor` object (extra_body in OpenAI clients). */
export interface TailorOptions {
  k: number;
  sources: string[];
  metadata: Record<string, string>;
}

export function tailorOptions(body: Json, maxK: number): TailorOptions {
  const t = optional(body, "tailor", object) ?? {};
  const k = optional(t, "k", (v, f) => integer(v, f, 0, maxK), "tailor.k") ?? 0;
  const sources = (optional(t, "sources", (v, f) => array(v, f, 100), "tailor.sources") ?? []).map(
    (s, i) => string(s, `tailor.sources[${i}]`, ID_RULE),
  );
  const m = optional(t, "metadata", object, "tailor.metadata") ?? {};
  const keys = Object.keys(m);
  if (keys.length > 50) throw invalidRequest("tailor.metadata", "has more than 50 keys");
  const entries = keys.map((key) => {
    const problem = textProblem(key, KEY_RULE);
    if (problem) throw invalidRequest("tailor.metadata", `a key ${problem}`);
    return [key, string(m[key], `tailor.metadata.${key}`, METADATA_VALUE)] as const;
  });
  // fromEntries defines each key as its own property, `__proto__` included.
  return { k, sources, metadata: Object.fromEntries(entries) };
}
