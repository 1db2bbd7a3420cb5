import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseTrainerConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("trainer");
await runService("trainer", logger, () => create(parseTrainerConfig(process.env), { logger }));
