export { ArtifactExistsError, ArtifactIntegrityError, ArtifactNotFoundError } from "./errors.js";
export {
  type Artifact,
  type ArtifactStore,
  LocalArtifactStore,
  publishArtifact,
} from "./local-store.js";
export {
  type ArtifactManifest,
  buildManifest,
  listFolderFiles,
  MANIFEST_FILE,
  parseManifest,
  sha256File,
  verifyFolder,
} from "./manifest.js";
export { type ModelRef, parseModelRef } from "./model-ref.js";
export {
  ObjectStoreArtifactStore,
  openArtifactBucket,
  publishArtifactToBucket,
} from "./object-store.js";
export { checkSegment, compareVersions, newestVersion } from "./versions.js";
