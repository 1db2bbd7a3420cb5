export { documentVersion } from "./document-version.js";
export {
  InputError,
  type JsonlItem,
  listDirDocuments,
  parseLine,
  readDirDocument,
  readJsonl,
} from "./documents.js";
export {
  type IngestOptions,
  type IngestSummary,
  ingest,
  type PublishedDocument,
} from "./ingest.js";
export { buildCli, type CliRun, runCli } from "./run-cli.js";
export { batchSearch, type ModeName, retrievalClient, searchOnce, toTrecLines } from "./search.js";
