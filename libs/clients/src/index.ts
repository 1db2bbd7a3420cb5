export { EmbedderClient, type EmbedResult } from "./embedder-client.js";
