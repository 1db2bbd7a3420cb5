export {
  type Artifact,
  ArtifactExistsError,
  ArtifactIntegrityError,
  type ArtifactManifest,
  ArtifactNotFoundError,
  type ArtifactStore,
  buildManifest,
  compareVersions,
  LocalArtifactStore,
  MANIFEST_FILE,
  newestVersion,
  publishArtifact,
  verifyFolder,
} from "./artifact-store.js";
export {
  type ModelRef,
  type ModelServerConfig,
  parseModelRef,
  parseModelServerConfig,
} from "./config.js";
export { ObjectStoreArtifactStore, publishArtifactToBucket } from "./object-store-artifacts.js";
export { ModelLoadFailedError, ModelRegistry } from "./registry.js";
export { OnnxEmbedder } from "./runtime/embedder.js";
export { create, type ModelServerHandle, type ModelServerOverrides } from "./service.js";
