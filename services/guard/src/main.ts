import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseGuardConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("guard");
await runService("guard", logger, () => create(parseGuardConfig(process.env), { logger }));
