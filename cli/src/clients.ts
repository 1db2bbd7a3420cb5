import type { DescService } from "@bufbuild/protobuf";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  EvaluatorService,
  GuardService,
  IngestionService,
  ModelService,
  RegistryService,
  RetrievalService,
  TrainerService,
} from "@tailor/proto";
import type { CliConfig } from "./config.js";
import { ServiceCallError } from "./errors.js";

/**
 * Every unary call has a deadline, so a stack that accepts connections but never answers cannot
 * hang the CLI. Server streams (WatchJob) get none by default: a training job may run for hours;
 * pass `timeoutMs` per call to bound one.
 */
export function serviceClient<S extends DescService>(
  service: S,
  name: string,
  url: string,
  timeoutMs: number,
): Client<S> {
  const client = createClient(
    service,
    createGrpcTransport({ baseUrl: url, defaultTimeoutMs: timeoutMs }),
  );
  const fail = (err: unknown) => new ServiceCallError(name, url, timeoutMs, ConnectError.from(err));
  // Errors carry the service and address so the message can say which part of the stack is down.
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      const method = typeof prop === "string" ? service.method[prop] : undefined;
      if (method?.methodKind === "server_streaming") {
        return async function* (req: unknown, options?: { timeoutMs?: number }) {
          try {
            yield* (value as (...a: unknown[]) => AsyncIterable<unknown>).call(target, req, {
              timeoutMs: 0,
              ...options,
            });
          } catch (err) {
            throw fail(err);
          }
        };
      }
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          throw fail(err);
        }
      };
    },
  });
}

export interface Clients {
  ingestion: Client<typeof IngestionService>;
  retrieval: Client<typeof RetrievalService>;
  models: Client<typeof ModelService>;
  registry: Client<typeof RegistryService>;
  trainer: Client<typeof TrainerService>;
  evaluator: Client<typeof EvaluatorService>;
  guard: Client<typeof GuardService>;
}

export function clientsFor(config: CliConfig, timeoutMs: number): Clients {
  return {
    ingestion: serviceClient(IngestionService, "ingestion", config.ingestionUrl, timeoutMs),
    retrieval: serviceClient(RetrievalService, "retrieval", config.retrievalUrl, timeoutMs),
    models: serviceClient(ModelService, "model-server", config.modelServerUrl, timeoutMs),
    registry: serviceClient(RegistryService, "registry", config.registryUrl, timeoutMs),
    trainer: serviceClient(TrainerService, "trainer", config.trainerUrl, timeoutMs),
    evaluator: serviceClient(EvaluatorService, "evaluator", config.evaluatorUrl, timeoutMs),
    guard: serviceClient(GuardService, "guard", config.guardUrl, timeoutMs),
  };
}
