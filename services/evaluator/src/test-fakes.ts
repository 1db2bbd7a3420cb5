import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport, type Transport } from "@connectrpc/connect";
import {
  AliasSchema,
  ModelVersionSchema,
  RegistryService,
  RetrievalService,
  SearchHitSchema,
  SearchResponseSchema,
} from "@tailor/proto";

/**
 * Stand-ins for the registry and retrieval, for tests of the evaluator alone (the end-to-end
 * loop test runs the real ones): a registry of versions and aliases that records every call,
 * and a retrieval that answers fixed rankings per version.
 */
export class FakeRegistry {
  readonly versions = new Map<string, Set<string>>();
  readonly aliases = new Map<string, string>();
  readonly calls: {
    method: string;
    tenant: string;
    version: string;
    alias?: string;
    weight?: number;
    report?: string;
  }[] = [];

  register(tenant: string, ...versions: string[]): void {
    const set = this.versions.get(tenant) ?? new Set();
    for (const v of versions) set.add(v);
    this.versions.set(tenant, set);
  }

  point(tenant: string, alias: string, version: string): void {
    this.aliases.set(`${tenant}/${alias}`, version);
  }

  alias(tenant: string, alias: string): string | undefined {
    return this.aliases.get(`${tenant}/${alias}`);
  }

  callsOf(tenant: string, method?: string) {
    return this.calls.filter((c) => c.tenant === tenant && (!method || c.method === method));
  }

  private known(tenant: string, version: string): void {
    if (!this.versions.get(tenant)?.has(version))
      throw new ConnectError(`version ${version} not found`, Code.NotFound);
  }

  transport(): Transport {
    return createRouterTransport((router) =>
      router.service(RegistryService, {
        getVersion: (req) => {
          this.known(req.tenant, req.version);
          return {
            version: create(ModelVersionSchema, { tenant: req.tenant, version: req.version }),
          };
        },
        resolveAlias: (req) => {
          const v = this.alias(req.tenant, req.alias);
          if (!v) throw new ConnectError(`alias ${req.alias} not found`, Code.NotFound);
          return { alias: create(AliasSchema, { name: req.alias, version: v, weight: 1 }) };
        },
        promote: (req) => {
          this.known(req.tenant, req.version);
          this.calls.push({
            method: "promote",
            tenant: req.tenant,
            version: req.version,
            alias: req.alias,
            weight: req.weight,
          });
          const previous = this.alias(req.tenant, req.alias) ?? "";
          this.point(req.tenant, req.alias, req.version);
          return {
            alias: create(AliasSchema, { name: req.alias, version: req.version }),
            previousVersion: previous,
          };
        },
        reject: (req) => {
          this.known(req.tenant, req.version);
          this.calls.push({
            method: "reject",
            tenant: req.tenant,
            version: req.version,
            report: req.report,
          });
          return {};
        },
        attachReport: (req) => {
          this.known(req.tenant, req.version);
          this.calls.push({
            method: "attachReport",
            tenant: req.tenant,
            version: req.version,
            report: req.report,
          });
          return {};
        },
      }),
    );
  }
}

/** version → query text → document ids, best first. */
export type Rankings = Record<string, (query: string) => string[]>;

export function fakeRetrieval(rankings: Rankings, served: (tenant: string) => string): Transport {
  return createRouterTransport((router) =>
    router.service(RetrievalService, {
      search: (req) => {
        const version = req.version || served(req.tenant);
        const rank = rankings[version];
        if (!rank) throw new ConnectError(`no index for ${version}`, Code.FailedPrecondition);
        const hits = rank(req.query)
          .slice(0, req.k)
          .map((d, i) =>
            create(SearchHitSchema, { chunkId: `${d}#${i}`, documentId: d, score: 1 / (i + 1) }),
          );
        return create(SearchResponseSchema, { hits, version, modelVersion: "emb@x" });
      },
    }),
  );
}
