import { join } from "node:path";
import {
  defaultPorts,
  env,
  type NatsAuth,
  parseEnv,
  parseNatsAuth,
  readAdminToken,
} from "@tailor/config";

export interface CliConfig {
  natsUrl: string;
  /** TAILOR_CLI_NATS_USER/_PASSWORD/_TOKEN/_CREDS, else the shared TAILOR_NATS_* ones. */
  natsAuth: NatsAuth;
  busPrefix: string;
  ingestionUrl: string;
  retrievalUrl: string;
  modelServerUrl: string;
  registryUrl: string;
  trainerUrl: string;
  evaluatorUrl: string;
  guardUrl: string;
  inferenceGatewayUrl: string;
  dataDir: string;
  /** The model-server's admin token: TAILOR_MODEL_SERVER_ADMIN_TOKEN or the local stack's file. */
  adminToken?: string;
  /** The gateway's admin token (`tailor keys`): TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN or the local stack's file. */
  gatewayAdminToken?: string;
}

/**
 * The CLI talks to the stack `npm run up` starts: the same variables, so a stack moved to other
 * ports (`TAILOR_RETRIEVAL_PORT=…`) is found without spelling out every URL.
 */
export function parseCliConfig(e: NodeJS.ProcessEnv): CliConfig {
  const ports = parseEnv(
    {
      TAILOR_INGESTION_PORT: env.port(defaultPorts.ingestion),
      TAILOR_RETRIEVAL_PORT: env.port(defaultPorts.retrieval),
      TAILOR_MODEL_SERVER_PORT: env.port(defaultPorts.modelServer),
      TAILOR_REGISTRY_PORT: env.port(defaultPorts.registry),
      TAILOR_TRAINER_PORT: env.port(defaultPorts.trainer),
      TAILOR_EVALUATOR_PORT: env.port(defaultPorts.evaluator),
      TAILOR_GUARD_PORT: env.port(defaultPorts.guard),
      TAILOR_INFERENCE_GATEWAY_PORT: env.port(defaultPorts.inferenceGateway),
    },
    e,
  );
  const v = parseEnv(
    {
      TAILOR_NATS_URL: env.str("nats://127.0.0.1:4222"),
      TAILOR_BUS_PREFIX: env.prefix(),
      TAILOR_INGESTION_URL: env.url(`http://127.0.0.1:${ports.TAILOR_INGESTION_PORT}`),
      TAILOR_RETRIEVAL_URL: env.url(`http://127.0.0.1:${ports.TAILOR_RETRIEVAL_PORT}`),
      TAILOR_MODEL_SERVER_URL: env.url(`http://127.0.0.1:${ports.TAILOR_MODEL_SERVER_PORT}`),
      TAILOR_REGISTRY_URL: env.url(`http://127.0.0.1:${ports.TAILOR_REGISTRY_PORT}`),
      TAILOR_TRAINER_URL: env.url(`http://127.0.0.1:${ports.TAILOR_TRAINER_PORT}`),
      TAILOR_EVALUATOR_URL: env.url(`http://127.0.0.1:${ports.TAILOR_EVALUATOR_PORT}`),
      TAILOR_GUARD_URL: env.url(`http://127.0.0.1:${ports.TAILOR_GUARD_PORT}`),
      TAILOR_INFERENCE_GATEWAY_URL: env.url(
        `http://127.0.0.1:${ports.TAILOR_INFERENCE_GATEWAY_PORT}`,
      ),
      TAILOR_DATA_DIR: env.str(".tailor/data"),
    },
    e,
  );
  // The launcher keeps a prefixed stack's data (and its tokens) under prefixes/<prefix>.
  const stackDataDir = v.TAILOR_BUS_PREFIX
    ? join(v.TAILOR_DATA_DIR, "prefixes", v.TAILOR_BUS_PREFIX)
    : v.TAILOR_DATA_DIR;
  return {
    natsUrl: v.TAILOR_NATS_URL,
    natsAuth: parseNatsAuth(e, "TAILOR_CLI"),
    busPrefix: v.TAILOR_BUS_PREFIX,
    ingestionUrl: v.TAILOR_INGESTION_URL,
    retrievalUrl: v.TAILOR_RETRIEVAL_URL,
    modelServerUrl: v.TAILOR_MODEL_SERVER_URL,
    registryUrl: v.TAILOR_REGISTRY_URL,
    trainerUrl: v.TAILOR_TRAINER_URL,
    evaluatorUrl: v.TAILOR_EVALUATOR_URL,
    guardUrl: v.TAILOR_GUARD_URL,
    inferenceGatewayUrl: v.TAILOR_INFERENCE_GATEWAY_URL,
    dataDir: v.TAILOR_DATA_DIR,
    adminToken: readAdminToken(stackDataDir, e),
    gatewayAdminToken: readAdminToken(stackDataDir, e, "inference-gateway"),
  };
}
