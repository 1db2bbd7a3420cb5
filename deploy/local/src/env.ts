import { env, parseEnv } from "@tailor/config";

/** What the launcher reads from the environment (the services read their own). */
export function parseLauncherEnv(e: NodeJS.ProcessEnv) {
  const v = parseEnv(
    {
      TAILOR_NATS_URL: env.str("nats://127.0.0.1:4222"),
      TAILOR_DATABASE_URL: env.str("postgres://postgres@127.0.0.1:5432/tailor"),
      TAILOR_DATA_DIR: env.str(".tailor/data"),
      TAILOR_TEST_NATS_URL: env.str(""),
      TAILOR_TEST_DATABASE_URL: env.str(""),
    },
    e,
  );
  return v;
}
