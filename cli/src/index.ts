export { InputError, listDirDocuments, readDirDocument, readJsonl } from "./documents.js";
export { type IngestOptions, ingest } from "./ingest.js";
export { batchSearch, type ModeName, retrievalClient, searchOnce, toTrecLines } from "./search.js";
