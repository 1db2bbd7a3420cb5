import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseEmbeddingConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("embedding");
await runService("embedding", logger, () => create(parseEmbeddingConfig(process.env), { logger }));
