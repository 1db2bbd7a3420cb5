import { create } from "@bufbuild/protobuf";
import { type CallOptions, type Client, Code, ConnectError } from "@connectrpc/connect";
import type { AliasCache, AliasChange } from "@tailor/bus";
import { takesCanary } from "@tailor/clients";
import {
  type GeneratorSpec,
  type ModelVersion,
  type RegistryService,
  VersionState,
} from "@tailor/proto";
import { type ModelRoute, ModelRouteSchema } from "@tailor/proto/gateway";
import { Lru } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import type { Generator, ResolvedRoute, RouteRequest, RouteResolver } from "../types.js";

/** The RegistryService calls the routes make. */
export type RegistryApi = Pick<
  Client<typeof RegistryService>,
  "getVersion" | "resolveAlias" | "ensureBase"
>;

/** Builds a runnable generator for one registry version of model `generator`. */
export type GeneratorFactory = (spec: GeneratorSpec, version: string) => Generator;

export const RETRIEVAL = "retrieval";
export const GENERATOR = "generator";
type Model = typeof RETRIEVAL | typeof GENERATOR;

/** `<model>@v<n>`, as the registry names versions. */
const VERSION_NAME = /^([a-z0-9-]{1,64})@v[1-9][0-9]{0,8}$/;

export interface RoutesOptions {
  makeGenerator: GeneratorFactory;
  logger: Logger;
  /** Deadline of one registry call. */
  timeoutMs?: number;
  /** Tenants whose alias targets are kept while the MODEL stream is followed. */
  tenantCacheSize?: number;
  /** Versions (immutable) and generators kept. */
  versionCacheSize?: number;
  /** Draw for a canary request without a routing key (tests pin it). */
  random?: () => number;
}

/** Where an alias of one model points. */
interface Target {
  version: ModelVersion;
  /** Share of prod traffic (canary); 1 for prod. */
  weight: number;
}

/** One model's side of a resolved route. */
interface Side {
  version?: ModelVersion;
  alias: string;
}

/**
 * Resolves a request's route to exact retrieval and generator versions through the registry.
 * `prod` sends a canary's weight of traffic to `canary` (sticky by routing key, with the rule
 * retrieval uses, so a key lands on the same side of both models). Versions are cached for good
 * (immutable); alias targets only while `following` (a RouteFollower applies the MODEL stream),
 * so a process that cannot hear the stream asks the registry every time.
 */
export class RegistryRoutes implements RouteResolver, AliasCache {
  private readonly versions: Lru<string, ModelVersion>;
  private readonly generators: Lru<string, Generator>;
  /** tenant → `model/alias` → target (null: no such alias). */
  private readonly targets: Lru<string, Map<string, Target | null>>;
  private following = false;
  /** Bumped by every change: a registry answer that started before one is not cached. */
  private seq = 0;
  private readonly flights = new Map<string, Promise<unknown>>();

  constructor(
    private readonly registry: RegistryApi,
    private readonly o: RoutesOptions,
  ) {
    this.versions = new Lru(o.versionCacheSize ?? 4096);
    this.generators = new Lru(o.versionCacheSize ?? 4096, (g) => {
      g.close?.().catch(() => {});
    });
    this.targets = new Lru(o.tenantCacheSize ?? 10_000);
  }

  async resolve(tenant: string, route: RouteRequest): Promise<ResolvedRoute> {
    if (route.version) return this.exact(tenant, route.version);
    const alias = route.alias || "prod";
    const u = (this.o.random ?? Math.random)();
    // One draw for both models: a request without a routing key is on one side of both splits.
    const pick = (t: string, w: number) => takesCanary(t, route.routingKey, w, () => u);
    const [retrieval, generator] = await Promise.all([
      this.side(tenant, RETRIEVAL, alias, pick),
      this.side(tenant, GENERATOR, alias, pick),
    ]);
    if (alias !== "prod" && retrieval.alias !== alias && generator.alias !== alias)
      throw new ConnectError(
        `alias ${alias}: tenant ${tenant} has no route under alias ${alias}`,
        Code.NotFound,
      );
    const chosen = retrieval.alias === "prod" ? generator.alias : retrieval.alias;
    return this.route(chosen, retrieval.version, await this.generatorSide(tenant, generator));
  }

  async list(tenant: string): Promise<ModelRoute[]> {
    // Prod itself, not a request's side of its canary split.
    const never = () => false;
    const [r, g, rc, gc] = await Promise.all([
      this.side(tenant, RETRIEVAL, "prod", never),
      this.side(tenant, GENERATOR, "prod", never),
      this.target(tenant, RETRIEVAL, "canary"),
      this.target(tenant, GENERATOR, "canary"),
    ]);
    const prod = this.route("prod", r.version, await this.generatorSide(tenant, g));
    const out = [modelRoute("prod", prod, 1)];
    const live = (t: Target | null) => (t && t.version.state !== VersionState.REJECTED ? t : null);
    const [rcl, gcl] = [live(rc), live(gc)];
    if (rcl || gcl) {
      const canary: ResolvedRoute = {
        alias: "canary",
        retrieval: rcl?.version.version ?? prod.retrieval,
        embedder: rcl ? embedderOf(rcl.version) : prod.embedder,
        generator: gcl ? this.generatorOf(tenant, gcl.version) : prod.generator,
      };
      out.push(modelRoute("canary", canary, Math.max(rcl?.weight ?? 0, gcl?.weight ?? 0)));
    }
    return out;
  }

  /** Closes every generator built (those holding model sessions or connections). */
  async close(): Promise<void> {
    const all = [...this.generators.values()];
    this.generators.clear();
    await Promise.all(all.map((g) => g.close?.().catch(() => {})));
  }

  /** Whether alias targets may be cached: only while the MODEL stream is followed. */
  setFollowing(on: boolean): void {
    this.following = on;
    this.reset();
  }

  /** Forgets every alias target (versions stay: they never change). */
  reset(): void {
    this.seq++;
    this.targets.clear();
  }

  /** A promotion, rollback or rejection of one of the tenant's models: ask the registry again. */
  apply(c: AliasChange): void {
    this.forget(c.event.tenant);
  }

  /** Forgets one tenant's alias targets. */
  forget(tenant: string): void {
    this.seq++;
    this.targets.delete(tenant);
  }

  private async exact(tenant: string, version: string): Promise<ResolvedRoute> {
    const m = VERSION_NAME.exec(version);
    const model = m?.[1];
    if (model !== RETRIEVAL && model !== GENERATOR)
      throw new ConnectError(
        "route.version: must be an exact retrieval@v<n> or generator@v<n>",
        Code.InvalidArgument,
      );
    const mv = await this.versionOf(tenant, version);
    if (!mv)
      throw new ConnectError(
        `route.version: tenant ${tenant} has no version ${version}`,
        Code.NotFound,
      );
    // The other model is served at prod.
    if (model === RETRIEVAL) {
      const g = await this.side(tenant, GENERATOR, "prod", () => false);
      return this.route("", mv, await this.generatorSide(tenant, g));
    }
    const r = await this.side(tenant, RETRIEVAL, "prod", () => false);
    return this.route("", r.version, this.generatorOf(tenant, mv));
  }

  private route(
    alias: string,
    retrieval: ModelVersion | undefined,
    generator: Generator,
  ): ResolvedRoute {
    return {
      alias,
      // Empty: the tenant has no retrieval model yet; retrieval makes its base on the first
      // search and names the version in its answer.
      retrieval: retrieval?.version ?? "",
      embedder: retrieval ? embedderOf(retrieval) : "",
      generator,
    };
  }

  /** One model's version for an alias: prod (with its canary's share) or the alias named. */
  private async side(
    tenant: string,
    model: Model,
    alias: string,
    pick: (tenant: string, weight: number) => boolean,
  ): Promise<Side> {
    if (alias !== "prod") {
      const t = await this.target(tenant, model, alias);
      if (t) return { version: served(t, alias), alias };
      // A model without this alias is served at its prod.
    }
    const prod = await this.target(tenant, model, "prod");
    if (!prod) return { alias: "prod" };
    const p = served(prod, "prod");
    if (alias !== "prod") return { version: p, alias: "prod" };
    const canary = await this.target(tenant, model, "canary");
    if (
      canary &&
      canary.version.state !== VersionState.REJECTED &&
      canary.version.version !== p.version &&
      pick(tenant, canary.weight)
    )
      return { version: canary.version, alias: "canary" };
    return { version: p, alias: "prod" };
  }

  /** The generator of a side; a tenant without a generator model gets its extractive base. */
  private async generatorSide(tenant: string, side: Side): Promise<Generator> {
    if (side.version) return this.generatorOf(tenant, side.version);
    const res = await this.once(`base\u0000${tenant}`, () =>
      this.call("generator base", (o) =>
        this.registry.ensureBase(
          { tenant, model: GENERATOR, generator: { kind: "extractive" } },
          o,
        ),
      ),
    );
    const mv = checked(tenant, GENERATOR, res.version);
    if (res.created)
      this.o.logger.info({ tenant, version: mv.version }, "extractive generator base registered");
    this.forget(tenant);
    return this.generatorOf(tenant, mv);
  }

  private generatorOf(tenant: string, mv: ModelVersion): Generator {
    const key = `${tenant}\u0000${mv.version}`;
    const hit = this.generators.get(key);
    if (hit) return hit;
    if (!mv.generator)
      throw new ConnectError(
        `generator ${mv.version}: the registry holds no generator spec for it`,
        Code.FailedPrecondition,
      );
    const g = this.o.makeGenerator(mv.generator, mv.version);
    this.generators.set(key, g);
    return g;
  }

  private async target(tenant: string, model: Model, alias: string): Promise<Target | null> {
    const key = `${model}/${alias}`;
    if (this.following) {
      const hit = this.targets.get(tenant)?.get(key);
      if (hit !== undefined) return hit;
    }
    return this.once(`alias\u0000${tenant}\u0000${key}`, async () => {
      const seq = this.seq;
      let t: Target | null = null;
      try {
        const res = await this.call(`alias ${alias}`, (o) =>
          this.registry.resolveAlias({ tenant, model, alias }, o),
        );
        const mv = checked(tenant, model, res.version);
        this.versions.set(`${tenant}\u0000${mv.version}`, mv);
        t = {
          version: mv,
          weight: alias === "prod" ? 1 : Math.min(1, Math.max(0, res.alias?.weight ?? 0)),
        };
      } catch (err) {
        if (!(err instanceof ConnectError && err.code === Code.NotFound)) throw err;
      }
      // A missing prod is not kept: retrieval makes its base without an event.
      if (this.following && seq === this.seq && (t || alias !== "prod")) {
        let m = this.targets.get(tenant);
        if (!m) {
          m = new Map();
          this.targets.set(tenant, m);
        }
        m.set(key, t);
      }
      return t;
    });
  }

  private async versionOf(tenant: string, version: string): Promise<ModelVersion | undefined> {
    const key = `${tenant}\u0000${version}`;
    const hit = this.versions.get(key);
    if (hit) return hit;
    try {
      const res = await this.call(`version ${version}`, (o) =>
        this.registry.getVersion({ tenant, version }, o),
      );
      const mv = checked(tenant, version.slice(0, version.indexOf("@")), res.version);
      if (mv.version !== version)
        throw new ConnectError(
          `version ${version}: the registry answered another version`,
          Code.Unavailable,
        );
      this.versions.set(key, mv);
      return mv;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) return undefined;
      throw err;
    }
  }

  /** Runs `f` once for concurrent callers with the same key. */
  private once<T>(key: string, f: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running) return running as Promise<T>;
    const p = f().finally(() => this.flights.delete(key));
    this.flights.set(key, p);
    return p;
  }

  /** A registry call under the deadline: NOT_FOUND passes through, other failures are UNAVAILABLE. */
  private async call<T>(what: string, f: (o: CallOptions) => Promise<T>): Promise<T> {
    try {
      return await f({ timeoutMs: this.o.timeoutMs ?? 5000 });
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.NotFound) throw ce;
      this.o.logger.warn({ code: Code[ce.code], what }, "registry call failed");
      throw new ConnectError(`${what}: the registry cannot resolve it now`, Code.Unavailable);
    }
  }
}

/** The version an alias serves; a rejected one never is. */
function served(t: Target, alias: string): ModelVersion {
  if (t.version.state === VersionState.REJECTED)
    throw new ConnectError(
      `alias ${alias}: points at rejected version ${t.version.version}, which is never served`,
      Code.FailedPrecondition,
    );
  return t.version;
}

function checked(tenant: string, model: string, mv: ModelVersion | undefined): ModelVersion {
  const m = mv && VERSION_NAME.exec(mv.version);
  // The registry is scoped by tenant; an answer about another tenant or model is never used.
  if (!mv || !m || m[1] !== model || (mv.tenant && mv.tenant !== tenant))
    throw new ConnectError(
      "route: the registry answered with an unusable version",
      Code.Unavailable,
    );
  return mv;
}

function embedderOf(mv: ModelVersion): string {
  return mv.spec?.embedder ?? "";
}

function modelRoute(alias: string, r: ResolvedRoute, weight: number): ModelRoute {
  return create(ModelRouteSchema, {
    alias,
    retrieval: r.retrieval,
    embedder: r.embedder,
    generator: r.generator.version,
    generatorModel: r.generator.model,
    weight,
  });
}
