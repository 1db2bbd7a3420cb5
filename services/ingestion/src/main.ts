import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseIngestionConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("ingestion");
await runService("ingestion", logger, () => create(parseIngestionConfig(process.env), { logger }));
