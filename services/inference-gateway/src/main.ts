import { runService } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { parseGatewayConfig } from "./config.js";
import { create } from "./service.js";

const logger = createLogger("inference-gateway");
await runService("inference-gateway", logger, () =>
  create(parseGatewayConfig(process.env), { logger, env: process.env }),
);
