import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseRegistryConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("registry");
await runService("registry", logger, () => create(parseRegistryConfig(process.env), { logger }));
