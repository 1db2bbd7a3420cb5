import { SEGMENT } from "./versions.js";

/** A model asked for by reference: `name` or `name@version` (newest when the version is empty). */
export interface ModelRef {
  name: string;
  version: string;
}

/** Parses `name` or `name@version`; returns a problem string when malformed. */
export function parseModelRef(s: string): ModelRef | string {
  const at = s.indexOf("@");
  const name = at === -1 ? s : s.slice(0, at);
  const version = at === -1 ? "" : s.slice(at + 1);
  if (!SEGMENT.test(name)) return `model name ${JSON.stringify(name)} is not [A-Za-z0-9._-]+`;
  if (at !== -1 && !SEGMENT.test(version))
    return `version ${JSON.stringify(version)} of ${name} is not [A-Za-z0-9._-]+`;
  return { name, version };
}
