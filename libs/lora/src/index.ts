export { bucketLoraArtifacts, type LoraArtifacts, localLoraArtifacts } from "./artifact-target.js";
export {
  type DatasetLimits,
  DEFAULT_DATASET_LIMITS,
  type LoraExample,
  parseLoraDataset,
  readLoraDataset,
  uploadLoraDataset,
} from "./dataset.js";
export { lossAndGradient, type TrainingSequence } from "./decoder-grad.js";
export { isLoraJobError, LoraJobError, LoraWatchTimeoutError } from "./errors.js";
export {
  DEFAULT_REFERENCE_LIMITS,
  type LoraJobContext,
  type LoraJobResult,
  type ReferenceLimits,
  runLoraJob,
} from "./job.js";
export { LORA_INFO_FILE, type LoraInfo, readLoraInfo } from "./lora-info.js";
export { type DecoderWeights, LoraParams } from "./lora-params.js";
export {
  type DecoderConfig,
  loadTinyDecoder,
  mergeLora,
  TINY_INITIALIZER,
  targetInitializers,
  UnsupportedDecoderError,
} from "./onnx-decoder.js";
export {
  isTerminalLoraState,
  LORA_SOURCE,
  LORA_STATES,
  type LoraState,
  publishLoraStatus,
  type Submitted,
  statusMsgId,
  submissionMsgId,
  submitLoraJob,
  type WatchOptions,
  watchLoraJob,
} from "./protocol.js";
export {
  checkLoraSpec,
  LORA_LIMITS,
  loraArtifactVersion,
  loraSpecDigest,
  loraSpecProblem,
  TARGET_MODULES,
  type TargetModule,
} from "./spec.js";
export {
  ReferenceLoraWorker,
  type ReferenceLoraWorkerOptions,
  type WorkerStats,
} from "./worker.js";
