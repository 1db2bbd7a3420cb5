import { defaultPorts, env, parseEnv } from "@tailor/config";

export interface CliConfig {
  natsUrl: string;
  busPrefix: string;
  retrievalUrl: string;
  modelServerUrl: string;
  dataDir: string;
}

export function parseCliConfig(e: NodeJS.ProcessEnv): CliConfig {
  const v = parseEnv(
    {
      TAILOR_NATS_URL: env.str("nats://127.0.0.1:4222"),
      TAILOR_BUS_PREFIX: env.prefix(),
      TAILOR_RETRIEVAL_URL: env.url(`http://127.0.0.1:${defaultPorts.retrieval}`),
      TAILOR_MODEL_SERVER_URL: env.url(`http://127.0.0.1:${defaultPorts.modelServer}`),
      TAILOR_DATA_DIR: env.str(".tailor/data"),
    },
    e,
  );
  return {
    natsUrl: v.TAILOR_NATS_URL,
    busPrefix: v.TAILOR_BUS_PREFIX,
    retrievalUrl: v.TAILOR_RETRIEVAL_URL,
    modelServerUrl: v.TAILOR_MODEL_SERVER_URL,
    dataDir: v.TAILOR_DATA_DIR,
  };
}
