import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseModelServerConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("model-server");
await runService("model-server", logger, () =>
  create(parseModelServerConfig(process.env), { logger }),
);
