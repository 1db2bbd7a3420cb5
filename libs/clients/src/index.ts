export { EmbedderClient, type EmbedResult } from "./embedder-client.js";
export {
  type EmbedderRef,
  formatEmbedderRef,
  parseEmbedderRef,
  resolveEmbedder,
} from "./embedder-ref.js";
