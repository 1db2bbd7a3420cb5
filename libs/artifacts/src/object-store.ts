import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { ArtifactExistsError, ArtifactIntegrityError, ArtifactNotFoundError } from "./errors.js";
import { type Artifact, type ArtifactStore, LocalArtifactStore } from "./local-store.js";
import { type ArtifactManifest, buildManifest, MANIFEST_FILE, parseManifest } from "./manifest.js";
import { checkSegment, newestVersion } from "./versions.js";

/** Opens the Object Store bucket of published models, creating it when absent. */
export function openArtifactBucket(js: JetStreamClient, bucket: string): Promise<ObjectStore> {
  return new Objm(js).create(bucket, { description: "Tailor model artifacts" });
}

/**
 * Artifacts in a JetStream Object Store bucket: objects `<name>/<version>/<file>` with the
 * manifest at `<name>/<version>/tailor-manifest.json`. A resolve downloads into the local cache
 * (the same layout as {@link LocalArtifactStore}) and verifies every file there; a cached copy
 * that still verifies is used without a download.
 */
export class ObjectStoreArtifactStore implements ArtifactStore {
  private readonly cache: LocalArtifactStore;

  constructor(
    private readonly os: ObjectStore,
    cacheDir: string,
  ) {
    this.cache = new LocalArtifactStore(cacheDir);
  }

  /** Versions of `name` with a manifest in the bucket. */
  async versions(name: string): Promise<string[]> {
    checkSegment("name", name);
    const prefix = `${name}/`;
    const suffix = `/${MANIFEST_FILE}`;
    const out: string[] = [];
    for (const info of await this.os.list()) {
      if (info.deleted || !info.name.startsWith(prefix) || !info.name.endsWith(suffix)) continue;
      const v = info.name.slice(prefix.length, -suffix.length);
      if (!v.includes("/")) out.push(v);
    }
    return out;
  }

  async resolve(name: string, version = ""): Promise<Artifact> {
    const v = version || newestVersion(await this.versions(name));
    if (v === undefined) throw new ArtifactNotFoundError(`no published model ${name}`);
    checkSegment("version", v);
    try {
      return await this.cache.resolve(name, v);
    } catch (err) {
      // Absent or damaged in the cache: fetch it again.
      if (!(err instanceof ArtifactNotFoundError || err instanceof ArtifactIntegrityError))
        throw err;
    }
    const blob = await this.os.getBlob(`${name}/${v}/${MANIFEST_FILE}`);
    if (!blob) throw new ArtifactNotFoundError(`no published model ${name} version ${v}`);
    const manifest = parseManifest(new TextDecoder().decode(blob), name, v);
    const target = join(this.cache.root, name, v);
    const staging = join(this.cache.root, name, `.${v}.download-${randomUUID()}`);
    try {
      for (const file of Object.keys(manifest.files)) {
        await this.download(`${name}/${v}/${file}`, join(staging, ...file.split("/")), file);
      }
      await mkdir(staging, { recursive: true });
      await writeFile(join(staging, MANIFEST_FILE), blob);
      await rm(target, { recursive: true, force: true });
      await rename(staging, target);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    return this.cache.resolve(name, v);
  }

  private async download(object: string, to: string, file: string): Promise<void> {
    const r = await this.os.get(object);
    if (!r)
      throw new ArtifactIntegrityError(
        `${file} is in ${MANIFEST_FILE} but not in the bucket`,
        file,
      );
    await mkdir(dirname(to), { recursive: true });
    await pipeline(
      Readable.fromWeb(r.data as unknown as WebReadableStream<Uint8Array>),
      createWriteStream(to),
    );
    const err = await r.error;
    if (err) throw new ArtifactIntegrityError(`download of ${file} failed`, file, { cause: err });
  }
}

/**
 * Publishes the model folder `dir` as `name@version` into an Object Store bucket: the files
 * first, the manifest last, so a reader that sees the manifest finds every file.
 */
export async function publishArtifactToBucket(
  os: ObjectStore,
  dir: string,
  name: string,
  version: string,
): Promise<ArtifactManifest> {
  const manifest = await buildManifest(dir, name, version);
  const manifestName = `${name}/${version}/${MANIFEST_FILE}`;
  const existing = await os.info(manifestName);
  if (existing && !existing.deleted)
    throw new ArtifactExistsError(`${name}@${version} is already published`);
  for (const file of Object.keys(manifest.files)) {
    const data = Readable.toWeb(
      createReadStream(join(dir, ...file.split("/"))),
    ) as unknown as ReadableStream<Uint8Array>;
    await os.put({ name: `${name}/${version}/${file}` }, data);
  }
  await os.putBlob(
    { name: manifestName },
    new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
  );
  return manifest;
}
