import type { DescService } from "@bufbuild/protobuf";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { IngestionService, ModelService, RetrievalService } from "@tailor/proto";
import type { CliConfig } from "./config.js";
import { ServiceCallError } from "./errors.js";

/** Every call has a deadline, so a stack that accepts connections but never answers cannot hang the CLI. */
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
  // Errors carry the service and address so the message can say which part of the stack is down.
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          throw new ServiceCallError(name, url, timeoutMs, ConnectError.from(err));
        }
      };
    },
  });
}

export interface Clients {
  ingestion: Client<typeof IngestionService>;
  retrieval: Client<typeof RetrievalService>;
  models: Client<typeof ModelService>;
}

export function clientsFor(config: CliConfig, timeoutMs: number): Clients {
  return {
    ingestion: serviceClient(IngestionService, "ingestion", config.ingestionUrl, timeoutMs),
    retrieval: serviceClient(RetrievalService, "retrieval", config.retrievalUrl, timeoutMs),
    models: serviceClient(ModelService, "model-server", config.modelServerUrl, timeoutMs),
  };
}
