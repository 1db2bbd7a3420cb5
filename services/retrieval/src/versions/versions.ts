import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type Bus, ModelEventFollower } from "@tailor/bus";
import { RegistryService } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { RetrievalConfig } from "../config.js";
import type { IndexState } from "../index-state.js";
import { type RegistryApi, VersionResolver } from "./resolver.js";
import { defaultSpec } from "./spec.js";

/** Registry versions for search: the resolver, and the MODEL-stream follower that keeps it current. */
export interface Versions {
  readonly resolver: VersionResolver;
  /** Starts following alias changes (after the bus is up); without it aliases are never cached. */
  follow(bus: Bus): Promise<void>;
  stop(): Promise<void>;
}

export function createVersions(
  config: RetrievalConfig,
  state: IndexState,
  logger: Logger,
  o: { registry?: RegistryApi; hasData: (tenant: string) => boolean },
): Versions {
  const registry =
    o.registry ??
    createClient(RegistryService, createGrpcTransport({ baseUrl: config.registry.url }));
  const resolver = new VersionResolver(registry, {
    specCacheSize: config.registry.specCacheSize,
    aliasCacheSize: config.registry.aliasCacheSize,
    timeoutMs: config.registry.timeoutMs,
    // The base version is today's defaults made explicit, at the index version the tenant is served at.
    baseSpec: (tenant) => {
      const served = state.servedVersion(tenant);
      return served ? defaultSpec(config.hybrid, served) : undefined;
    },
    fallback: () => defaultSpec(config.hybrid),
    hasData: o.hasData,
    logger,
  });
  let follower: ModelEventFollower | undefined;
  return {
    resolver,
    async follow(bus) {
      const f = new ModelEventFollower(bus, resolver, logger, "alias");
      try {
        await f.start();
        follower = f;
      } catch (err) {
        // Searches still work, resolving every alias through the registry.
        logger.error({ err }, "alias changes cannot be followed; aliases are not cached");
      }
    },
    async stop() {
      await follower?.stop();
    },
  };
}
