import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
// The subpath, not the barrel: the CLI bundles this, and the barrel brings ONNX and tokenizers.
import { detectModelKind, hfModelConfigSchema, type ModelKind } from "@tailor/models/hf-folder";
import { ArtifactIntegrityError } from "./errors.js";
import { checkSegment } from "./versions.js";

/** File beside a published model folder that names it and pins every file's sha256. */
export const MANIFEST_FILE = "tailor-manifest.json";

/** Contents of {@link MANIFEST_FILE}. */
export interface ArtifactManifest {
  readonly name: string;
  readonly version: string;
  readonly kind: ModelKind;
  /** ISO-8601 time of publishing; informational, "newest" is decided by compareVersions. */
  readonly created_at: string;
  /** Path inside the folder ("/"-separated) → lowercase hex sha256. */
  readonly files: Readonly<Record<string, string>>;
}

/** sha256 of a file, streamed so large weights never sit in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Files under `dir`, "/"-separated and relative, the manifest itself excluded, sorted. */
export async function listFolderFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .filter((p) => p !== MANIFEST_FILE)
    .sort();
}

/** Hashes a model folder and reads its kind from config.json (the tokenizer need not be there). */
export async function buildManifest(
  dir: string,
  name: string,
  version: string,
): Promise<ArtifactManifest> {
  checkSegment("name", name);
  checkSegment("version", version);
  const config = hfModelConfigSchema.parse(
    JSON.parse(await readFile(join(dir, "config.json"), "utf8")),
  );
  const files: Record<string, string> = {};
  for (const f of await listFolderFiles(dir)) files[f] = await sha256File(join(dir, f));
  return {
    name,
    version,
    kind: detectModelKind(config, dir),
    created_at: new Date().toISOString(),
    files,
  };
}

/** Parses and sanity-checks an untrusted manifest (it may come from a shared bucket). */
export function parseManifest(text: string, name: string, version: string): ArtifactManifest {
  let m: ArtifactManifest;
  try {
    m = JSON.parse(text) as ArtifactManifest;
  } catch (err) {
    throw new ArtifactIntegrityError(`${MANIFEST_FILE} is not JSON`, MANIFEST_FILE, {
      cause: err,
    });
  }
  const bad = (why: string) =>
    new ArtifactIntegrityError(`${MANIFEST_FILE}: ${why}`, MANIFEST_FILE);
  if (m?.name !== name || m.version !== version)
    throw bad(`says ${m?.name}@${m?.version}, expected ${name}@${version}`);
  if (typeof m.files !== "object" || m.files === null) throw bad("has no files");
  for (const [path, sha] of Object.entries(m.files)) {
    const parts = path.split("/");
    if (path.startsWith("/") || parts.some((p) => p === "" || p === "." || p === ".."))
      throw bad(`file path ${JSON.stringify(path)} leaves the folder`);
    if (typeof sha !== "string" || !/^[0-9a-f]{64}$/.test(sha))
      throw bad(`file ${path} has no sha256`);
  }
  return m;
}

/** Throws {@link ArtifactIntegrityError} naming the first file that is missing or differs. */
export async function verifyFolder(dir: string, manifest: ArtifactManifest): Promise<void> {
  for (const [path, expected] of Object.entries(manifest.files)) {
    let actual: string;
    try {
      actual = await sha256File(join(dir, ...path.split("/")));
    } catch (err) {
      throw new ArtifactIntegrityError(
        `${manifest.name}@${manifest.version}: ${path} is listed in ${MANIFEST_FILE} but missing`,
        path,
        { cause: err },
      );
    }
    if (actual !== expected)
      throw new ArtifactIntegrityError(
        `${manifest.name}@${manifest.version}: sha256 of ${path} is ${actual}, ${MANIFEST_FILE} says ${expected}`,
        path,
      );
  }
}
