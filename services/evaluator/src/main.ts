import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseEvaluatorConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("evaluator");
await runService("evaluator", logger, () => create(parseEvaluatorConfig(process.env), { logger }));
