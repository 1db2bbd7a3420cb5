import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Bus, Events } from "@tailor/bus";
import {
  AliasSchema,
  ModelPromotedSchema,
  ModelRejectedSchema,
  ModelRolledBackSchema,
  type ModelVersion,
  ModelVersionSchema,
  RegistryService,
  type RetrievalSpec,
  VersionState,
} from "@tailor/proto";
import { RpcServer } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";

/**
 * A test double of RegistryService (a service of ours written concurrently): an in-memory table
 * of versions and aliases behind a real Connect server, publishing the real MODEL events on a
 * real bus. Only what retrieval calls (GetVersion, ResolveAlias, EnsureBase) is served.
 */
export class RegistryDouble {
  readonly calls = { getVersion: 0, resolveAlias: 0, ensureBase: 0 };
  private readonly versions = new Map<string, ModelVersion[]>();
  private readonly aliases = new Map<string, Map<string, { version: string; weight: number }>>();
  private readonly history = new Map<string, string[]>();
  private server?: RpcServer;
  private n = 0;
  private ids = 0;

  constructor(private readonly bus?: Bus) {}

  get url(): string {
    return `http://127.0.0.1:${this.server?.port ?? 0}`;
  }

  async listen(port = 0): Promise<void> {
    this.server = new RpcServer({
      host: "127.0.0.1",
      port,
      services: [RegistryService],
      logger: createLogger("registry-double", "silent"),
      routes: (router) =>
        router.service(RegistryService, {
          getVersion: (req) => {
            this.calls.getVersion++;
            return { version: this.find(req.tenant, req.version) };
          },
          resolveAlias: (req) => {
            this.calls.resolveAlias++;
            const a = this.aliases.get(req.tenant)?.get(req.alias);
            if (req.model !== "retrieval" || !a)
              throw new ConnectError(`alias ${req.alias} not found`, Code.NotFound);
            return {
              alias: create(AliasSchema, { name: req.alias, ...a }),
              version: this.find(req.tenant, a.version),
            };
          },
          ensureBase: (req) => {
            this.calls.ensureBase++;
            const existing = this.versions.get(req.tenant)?.[0];
            if (existing) return { version: existing, created: false };
            const v = this.register(req.tenant, req.spec!, VersionState.PROMOTED);
            this.aliases.set(req.tenant, new Map([["prod", { version: v, weight: 1 }]]));
            return { version: this.find(req.tenant, v), created: true };
          },
        }),
    });
    await this.server.listen();
  }

  async close(): Promise<void> {
    await this.server?.close(0);
  }

  /** Registers a version (`retrieval@v<n>`, numbered per double); the first becomes prod. */
  register(tenant: string, spec: RetrievalSpec, state = VersionState.CANDIDATE): string {
    const list = this.versions.get(tenant) ?? [];
    const version = `retrieval@v${++this.n}`;
    list.push(create(ModelVersionSchema, { tenant, model: "retrieval", version, spec, state }));
    this.versions.set(tenant, list);
    if (list.length === 1) this.aliases.set(tenant, new Map([["prod", { version, weight: 1 }]]));
    return version;
  }

  async promote(tenant: string, version: string, alias = "prod", weight = 1): Promise<void> {
    const m = this.aliases.get(tenant) ?? new Map();
    const previous = m.get(alias)?.version ?? "";
    const h = this.history.get(`${tenant}/${alias}`) ?? [];
    if (previous) h.push(previous);
    this.history.set(`${tenant}/${alias}`, h);
    m.set(alias, { version, weight: alias === "prod" ? 1 : weight });
    // As the registry does: a canary promoted to prod is cleared, without an event of its own.
    if (alias === "prod" && m.get("canary")?.version === version) m.delete("canary");
    this.aliases.set(tenant, m);
    await this.bus?.publish(
      this.bus.subjects.model(tenant, "promoted"),
      Events.modelPromoted,
      create(ModelPromotedSchema, {
        tenant,
        model: "retrieval",
        alias,
        version,
        weight,
        previousVersion: previous,
        reason: "test",
      }),
      { id: `promote-${tenant}-${alias}-${version}-${++this.ids}`, source: "/test/registry" },
    );
  }

  async rollback(tenant: string, alias = "prod"): Promise<void> {
    const m = this.aliases.get(tenant)!;
    const left = m.get(alias)!.version;
    const back = this.history.get(`${tenant}/${alias}`)?.pop();
    if (back) m.set(alias, { version: back, weight: m.get(alias)!.weight });
    else m.delete(alias);
    await this.bus?.publish(
      this.bus.subjects.model(tenant, "rolled_back"),
      Events.modelRolledBack,
      create(ModelRolledBackSchema, {
        tenant,
        model: "retrieval",
        alias,
        version: back ?? "",
        rolledBackVersion: left,
        reason: "test",
      }),
      { id: `rollback-${tenant}-${alias}-${++this.ids}`, source: "/test/registry" },
    );
  }

  async reject(tenant: string, version: string): Promise<void> {
    this.find(tenant, version).state = VersionState.REJECTED;
    await this.bus?.publish(
      this.bus.subjects.model(tenant, "rejected"),
      Events.modelRejected,
      create(ModelRejectedSchema, { tenant, model: "retrieval", version, reason: "test" }),
      { id: `reject-${tenant}-${version}`, source: "/test/registry" },
    );
  }

  private find(tenant: string, version: string): ModelVersion {
    const v = this.versions.get(tenant)?.find((x) => x.version === version);
    if (!v) throw new ConnectError(`version ${version} not found`, Code.NotFound);
    return v;
  }
}
