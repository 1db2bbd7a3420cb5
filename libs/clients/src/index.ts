export { EmbedderClient, type EmbedResult } from "./embedder-client.js";
export {
  type EmbedderRef,
  embedderRefSetting,
  formatEmbedderRef,
  parseEmbedderRef,
  resolveEmbedder,
} from "./embedder-ref.js";
export {
  cleanText,
  DEFAULT_PROMPT_TEMPLATE,
  formatContext,
  formatHistory,
  MAX_CONTEXT_CHARS,
  MAX_HISTORY_CHARS,
  MAX_PASSAGE_CONTEXT_CHARS,
  type PromptPassage,
  type PromptTurn,
  ragPrompt,
  renderPrompt,
} from "./prompt.js";
export { routingShare, takesCanary } from "./routing.js";
