export { type AdamMoments, type AdamOptions, adamMoments, adamStep } from "./adam.js";
export {
  type AdapterArchitecture,
  type AdapterSpec,
  AdapterWorkspace,
  applyAdapter,
  type LinearArchitecture,
  type ParameterLayout,
  type Params,
  parameterLayout,
  type ResidualArchitecture,
} from "./adapter.js";
export { InfoNceBatch, type InfoNceOptions } from "./info-nce.js";
export {
  ADAPTER_INPUT,
  ADAPTER_OUTPUT,
  type AdapterFolderOptions,
  buildAdapterOnnx,
  writeAdapterModelFolder,
} from "./onnx-export.js";
export {
  isHeldOut,
  isTrainingDataError,
  type PairSource,
  TrainingDataError,
  type TrainingPair,
} from "./pair-stream.js";
export {
  type LinearRankerModel,
  ndcg10,
  type RankingQuery,
  RerankerDataError,
  type RerankerEpoch,
  type RerankerTrainingOptions,
  type RerankerTrainingResult,
  scoreLinearRanker,
  trainLinearRanker,
} from "./reranker.js";
export {
  checkRetrievalParams,
  DEFAULT_RETRIEVAL_GRID,
  DEFAULT_RETRIEVAL_PARAMS,
  evaluateRetrievalParams,
  type KeywordCorpus,
  type RetrievalParamEffect,
  type RetrievalParamName,
  type RetrievalParams,
  type RetrievalParamsStep,
  type RetrievalParamsTuning,
  type RetrievalParamsTuningOptions,
  retrievalParamsRun,
  TUNING_OBJECTIVE,
  tuneRetrievalParams,
  tuneRetrievalParamsAsync,
} from "./retrieval-params.js";
export {
  AdapterTrainer,
  type AdapterTrainerState,
  type AdapterTrainingConfig,
  type AdapterTrainingOptions,
  type AdapterTrainingResult,
  type EpochRecord,
  type StepProgress,
  type StopReason,
} from "./trainer.js";
