import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseRetrievalConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("retrieval");
await runService("retrieval", logger, () => create(parseRetrievalConfig(process.env), { logger }));
