import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "@tailor/proto";

/** Serving status of one service as the gRPC health protocol reports it. */
export type ServingStatus = HealthCheckResponse_ServingStatus;

/** Called with the service name and its new status whenever a status changes. */
export type HealthListener = (service: string, status: ServingStatus) => void;

/** The name the health protocol uses for the server as a whole. */
export const OVERALL_HEALTH = "";

/** Per-service serving status behind grpc.health.v1.Health; "" is the whole server. */
export class HealthStatus {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #listeners = new Set<HealthListener>();

  constructor(
    services: Iterable<string> = [],
    initial: ServingStatus = HealthCheckResponse_ServingStatus.SERVING,
  ) {
    this.#statuses.set(OVERALL_HEALTH, initial);
    for (const service of services) {
      this.#statuses.set(service, initial);
    }
  }

  /** Status of a fully-qualified service name, or undefined when the service is not registered. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Registers or updates one service; "" sets the overall status. */
  set(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) {
      // Watchers must only see real transitions, so a repeated value is not an event.
      return;
    }
    this.#statuses.set(service, status);
    for (const listener of this.#listeners) {
      listener(service, status);
    }
  }

  /** Sets every known service, overall included, e.g. NOT_SERVING while draining at shutdown. */
  setAll(status: ServingStatus): void {
    for (const service of [...this.#statuses.keys()]) {
      this.set(service, status);
    }
  }

  /** Subscribes to status changes; returns the unsubscribe function. */
  subscribe(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

/** Mounts grpc.health.v1.Health (Check and Watch) backed by `health` on the router. */
export function registerHealth(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    check(request: HealthCheckRequest): HealthCheckResponse {
      const status = health.get(request.service);
      if (status === undefined) {
        // The health spec requires NOT_FOUND (not SERVICE_UNKNOWN) for Check on an unknown name.
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return create(HealthCheckResponseSchema, { status });
    },
    watch(
      request: HealthCheckRequest,
      context: HandlerContext,
    ): AsyncIterable<HealthCheckResponse> {
      return watchStatus(health, request.service, context.signal);
    },
  });
}

async function* watchStatus(
  health: HealthStatus,
  service: string,
  signal: AbortSignal,
): AsyncGenerator<HealthCheckResponse> {
  // Changes are buffered from the moment of subscription so none is lost while a send is pending.
  const pending: ServingStatus[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const unsubscribe = health.subscribe((changed, status) => {
    if (changed === service) {
      pending.push(status);
      notify();
    }
  });
  signal.addEventListener("abort", notify);
  try {
    // Unknown services stay watched: the spec says they may be registered later.
    let last = health.get(service) ?? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
    yield create(HealthCheckResponseSchema, { status: last });
    while (!signal.aborted) {
      const next = pending.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      if (next !== last) {
        last = next;
        yield create(HealthCheckResponseSchema, { status: next });
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", notify);
  }
}
