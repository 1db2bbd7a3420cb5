import { randomUUID } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ModelKind } from "@tailor/models/hf-folder";
import { ArtifactExistsError, ArtifactNotFoundError } from "./errors.js";
import {
  type ArtifactManifest,
  buildManifest,
  MANIFEST_FILE,
  parseManifest,
  verifyFolder,
} from "./manifest.js";
import { checkSegment, newestVersion, SEGMENT } from "./versions.js";

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
