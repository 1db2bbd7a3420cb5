import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { detectModelKind, hfModelConfigSchema, type ModelKind } from "@tailor/models";

/** File beside a published model folder that names it and pins every file's sha256. */
export const MANIFEST_FILE = "tailor-manifest.json";

/** Contents of {@link MANIFEST_FILE}. */
export interface ArtifactManifest {
  readonly name: string;
  readonly version: string;
  readonly kind: ModelKind;
  /** ISO-8601 time of publishing; informational, "newest" is decided by {@link compareVersions}. */
  readonly created_at: string;
  /** Path inside the folder ("/"-separated) → lowercase hex sha256. */
  readonly files: Readonly<Record<string, string>>;
}

/** A verified model folder on local disk. */
export interface Artifact {
  readonly name: string;
  readonly version: string;
  readonly kind: ModelKind;
  readonly dir: string;
  readonly manifest: ArtifactManifest;
}

/** Where published models come from. */
export interface ArtifactStore {
  /** The verified local folder of `name` at `version`, or at its newest version when empty. */
  resolve(name: string, version?: string): Promise<Artifact>;
}

/** No such model, or no such version of it. */
export class ArtifactNotFoundError extends Error {
  override readonly name = "ArtifactNotFoundError";
  readonly code = "artifact_not_found";
}

/** A published folder does not match its manifest (missing file, wrong checksum, bad manifest). */
export class ArtifactIntegrityError extends Error {
  override readonly name = "ArtifactIntegrityError";
  readonly code = "artifact_integrity";
  constructor(
    message: string,
    /** The offending file, relative to the folder. */
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Publishing would overwrite a version; published versions are immutable. */
export class ArtifactExistsError extends Error {
  override readonly name = "ArtifactExistsError";
  readonly code = "artifact_exists";
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Throws RangeError unless `s` is a safe single path segment (a name or a version). */
export function checkSegment(what: string, s: string): void {
  if (!SEGMENT.test(s)) throw new RangeError(`${what} ${JSON.stringify(s)} is not [A-Za-z0-9._-]+`);
}

/**
 * Orders versions "semver-ish": split into digit and non-digit runs, digit runs compare as
 * numbers, the rest as strings, so 1.10.0 > 1.9.2 and 2024-06-01 > 2024-05-31. Chosen over the
 * manifest's created_at because it is visible in the name, needs no download to compare, and
 * does not depend on the publisher's clock. Ties (e.g. "1.0" vs "1.0.0") fall back to plain
 * string order so the result is total.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (x !== y) {
      // A number sorts after text at the same position: 1.0.1 > 1.0-rc1.
      if (nx !== ny) return nx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The largest of `versions` by {@link compareVersions}; undefined when empty. */
export function newestVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const v of versions) if (best === undefined || compareVersions(v, best) > 0) best = v;
  return best;
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

/**
 * The embedded artifact store: `<root>/<name>/<version>/` holds an HF-style folder plus
 * {@link MANIFEST_FILE}; every file is checked against the manifest on each resolve.
 */
export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  /** Versions of `name` that have a manifest, unsorted. */
  async versions(name: string): Promise<string[]> {
    checkSegment("name", name);
    let entries: string[];
    try {
      entries = await readdir(join(this.root, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: string[] = [];
    for (const v of entries) {
      // Staging folders start with "." and never match a version.
      if (!SEGMENT.test(v)) continue;
      if (await exists(join(this.root, name, v, MANIFEST_FILE))) out.push(v);
    }
    return out;
  }

  async resolve(name: string, version = ""): Promise<Artifact> {
    const v = version || newestVersion(await this.versions(name));
    if (v === undefined) throw new ArtifactNotFoundError(`no published model ${name}`);
    checkSegment("version", v);
    const dir = join(this.root, name, v);
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST_FILE), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new ArtifactNotFoundError(`no published model ${name} version ${v}`);
      throw err;
    }
    const manifest = parseManifest(text, name, v);
    await verifyFolder(dir, manifest);
    return { name, version: v, kind: manifest.kind, dir, manifest };
  }
}

/**
 * Publishes the model folder `dir` as `name@version` into the local store under `root`: copies
 * it to a staging folder, writes the manifest last, then renames, so a reader never sees half.
 */
export async function publishArtifact(
  dir: string,
  name: string,
  version: string,
  o: { root: string },
): Promise<ArtifactManifest> {
  const manifest = await buildManifest(dir, name, version);
  const target = join(o.root, name, version);
  if (await exists(target))
    throw new ArtifactExistsError(`${name}@${version} is already published`);
  const staging = join(o.root, name, `.${version}.staging-${randomUUID()}`);
  try {
    for (const f of Object.keys(manifest.files)) {
      const to = join(staging, ...f.split("/"));
      await mkdir(dirname(to), { recursive: true });
      await copyFile(join(dir, ...f.split("/")), to);
    }
    await mkdir(staging, { recursive: true });
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
