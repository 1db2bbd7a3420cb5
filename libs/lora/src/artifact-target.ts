import type { ObjectStore } from "@nats-io/obj";
import {
  type ArtifactManifest,
  type ArtifactStore,
  LocalArtifactStore,
  ObjectStoreArtifactStore,
  publishArtifact,
  publishArtifactToBucket,
} from "@tailor/artifacts";

/** Where a LoRA worker reads base decoders from and publishes merged ones to. */
export interface LoraArtifacts {
  readonly store: ArtifactStore;
  /** Publishes the folder `dir` as `name@version`; ArtifactExistsError when it already is. */
  publish(dir: string, name: string, version: string): Promise<ArtifactManifest>;
  /** Where the store lives, for logs and docs (`local:<root>` or `bucket:<name>`). */
  readonly where: string;
}

/** The embedded artifact store: `<root>/<name>/<version>/` folders. */
export function localLoraArtifacts(root: string): LoraArtifacts {
  return {
    store: new LocalArtifactStore(root),
    publish: (dir, name, version) => publishArtifact(dir, name, version, { root }),
    where: `local:${root}`,
  };
}

/** A JetStream Object Store bucket of artifacts; resolved folders are cached under `cacheDir`. */
export function bucketLoraArtifacts(
  os: ObjectStore,
  bucket: string,
  cacheDir: string,
): LoraArtifacts {
  return {
    store: new ObjectStoreArtifactStore(os, cacheDir),
    publish: (dir, name, version) => publishArtifactToBucket(os, dir, name, version),
    where: `bucket:${bucket}`,
  };
}
