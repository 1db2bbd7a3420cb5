// The one copy lives in @tailor/eval; this path stays because loadtest imports `@tailor/bench/stats`.
export { percentile } from "@tailor/eval";
