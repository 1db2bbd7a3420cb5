import { isValidToken } from "@tailor/bus";
import { invalidArgument } from "@tailor/service";

/** Eval set names appear in events, reports and errors: a plain, bounded identifier. */
const EVAL_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** `<model>@v<n>`, as the registry names versions. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}@v[1-9][0-9]{0,8}$/;
const ALIAS = /^[a-z][a-z0-9_-]{0,31}$/;

/** Every request is scoped to one tenant, which is also a subject token. */
export function checkTenant(tenant: string, field = "tenant"): string {
  if (!tenant) throw invalidArgument(field, "is required: every request is scoped to one tenant");
  if (!isValidToken(tenant)) throw invalidArgument(field, "must match [A-Za-z0-9_-]{1,128}");
  return tenant;
}

export function evalSetNameProblem(name: string): string | undefined {
  if (name === "") return "is required";
  if (!EVAL_SET_NAME.test(name))
    return "must be 1-128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit";
  return undefined;
}

export function checkEvalSetName(name: string, field = "eval_set"): string {
  const problem = evalSetNameProblem(name);
  if (problem) throw invalidArgument(field, problem);
  return name;
}

export function isVersion(v: string): boolean {
  return VERSION.test(v);
}

export function checkVersion(v: string, field = "version"): string {
  if (v === "") throw invalidArgument(field, "is required");
  if (!VERSION.test(v)) throw invalidArgument(field, "must be an exact version, <model>@v<n>");
  return v;
}

export function checkAlias(a: string, field = "alias"): string {
  if (!ALIAS.test(a)) throw invalidArgument(field, "must be an alias name such as prod or canary");
  return a;
}

/** The registry model of a version (`retrieval@v3` → `retrieval`). */
export function modelOf(version: string): string {
  return version.slice(0, version.lastIndexOf("@"));
}

/** The number of a version (`retrieval@v3` → 3), for ordering versions in charts. */
export function versionNumber(version: string): number {
  const n = Number(version.slice(version.lastIndexOf("@v") + 2));
  return Number.isFinite(n) ? n : 0;
}
