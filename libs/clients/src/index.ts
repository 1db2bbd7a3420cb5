export { EmbedderClient, type EmbedResult } from "./embedder-client.js";
export {
  type EmbedderRef,
  embedderRefSetting,
  formatEmbedderRef,
  parseEmbedderRef,
  resolveEmbedder,
} from "./embedder-ref.js";
export { routingShare, takesCanary } from "./routing.js";
