import { z } from "zod";
import { env, parseEnv } from "./env.js";

/** Variables every Tailor process understands. */
export const sharedEnvSchema = {
  TAILOR_NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  TAILOR_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .default("postgres://postgres@127.0.0.1:5432/tailor"),
  TAILOR_BUS_PREFIX: env.prefix(),
  TAILOR_BUS_REPLICAS: env.int(1, 1, 5),
  TAILOR_DATA_DIR: z.string().min(1).default(".tailor/data"),
  TAILOR_HOST: z.string().min(1).default("127.0.0.1"),
};

export interface SharedConfig {
  natsUrl: string;
  databaseUrl: string;
  /** Prefix of every subject and stream name, so several deployments or test suites share one NATS. */
  busPrefix: string;
  /** Replicas of each JetStream stream: 1 on a laptop, 3 on a cluster. */
  busReplicas: number;
  dataDir: string;
  host: string;
}

export function parseSharedConfig(e: NodeJS.ProcessEnv): SharedConfig {
  const v = parseEnv(sharedEnvSchema, e);
  return {
    natsUrl: v.TAILOR_NATS_URL,
    databaseUrl: v.TAILOR_DATABASE_URL,
    busPrefix: v.TAILOR_BUS_PREFIX,
    busReplicas: v.TAILOR_BUS_REPLICAS,
    dataDir: v.TAILOR_DATA_DIR,
    host: v.TAILOR_HOST,
  };
}

/** Default ports of the services (one HTTP/2 port each: Connect, gRPC and gRPC-Web). */
export const defaultPorts = {
  ingestion: 7101,
  embedding: 7102,
  retrieval: 7103,
  modelServer: 7104,
} as const;
