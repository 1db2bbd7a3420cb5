export { type Figure, formatFigure, LatencyRecorder } from "./metrics.js";
export { type LoadtestOptions, OptionsError, parseOptions } from "./options.js";
export { type OpenLoopOptions, type OpenLoopResult, runOpenLoop } from "./rate.js";
export { type Progress, runLoadtest } from "./run.js";
export { openTarget, type Target } from "./target.js";
