import { type CallOptions, type Client, Code, ConnectError } from "@connectrpc/connect";
import type { AliasCache, AliasChange } from "@tailor/bus";
import { takesCanary } from "@tailor/clients";
import {
  type ModelPromoted,
  type ModelRejected,
  type ModelRolledBack,
  type ModelVersion,
  type RegistryService,
  VersionState,
} from "@tailor/proto";
import { Lru } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import {
  isNotFound,
  noAlias,
  RegistryUnavailableError,
  rejectedAlias,
  unavailable,
} from "./errors.js";
import {
  fromRegistrySpec,
  RETRIEVAL_MODEL,
  type SearchSpec,
  toRegistrySpec,
  VERSION_NAME,
} from "./spec.js";

// The sticky split is shared with the gateway (its routes split the same way).
export { routingShare } from "@tailor/clients";

/** The RegistryService calls retrieval makes. */
export type RegistryApi = Pick<
  Client<typeof RegistryService>,
  "getVersion" | "resolveAlias" | "ensureBase"
>;

/** What a search names: a registry version, an alias, or neither (the tenant's prod). */
export interface ResolveRequest {
  tenant: string;
  version: string;
  alias: string;
  /** Sticky canary routing: the same key always lands on the same side. */
  routingKey: string;
}

export interface Resolved {
  /** The registry version searched at; "" when the registry could not say (defaults searched). */
  version: string;
  spec: SearchSpec;
  warnings: string[];
}

export interface ResolverOptions {
  /** Version specs kept; they never change, so they leave only for room. */
  specCacheSize: number;
  /** Tenants whose alias targets are kept. */
  aliasCacheSize: number;
  /** Deadline of one registry call. */
  timeoutMs: number;
  /**
   * The base version's spec for a tenant the registry has no model for: the service's defaults
   * at the tenant's served index version; undefined while no index version is served yet.
   */
  baseSpec: (tenant: string) => SearchSpec | undefined;
  /**
   * Whether the tenant has anything indexed: a base version is made only for a tenant with data,
   * so searching arbitrary tenant names does not fill the registry.
   */
  hasData: (tenant: string) => boolean;
  /** What a default search runs at when the registry cannot answer. */
  fallback: (tenant: string) => SearchSpec;
  logger: Logger;
  /** Share drawn for a canary request without a routing key (tests pin it). */
  random?: () => number;
}

/** Where an alias points, as far as retrieval knows. */
interface Target {
  version: string;
  /** Share of prod requests it takes (canary); 1 for prod. */
  weight: number;
  rejected: boolean;
}

/** After an unanswered call, further calls fail at once for this long instead of each waiting. */
const DOWN_MS = 1000;

/**
 * Resolves (tenant, version | alias) to a registry version and its spec. Specs are cached for
 * good (versions are immutable); alias targets are cached only while `following` (an alias
 * follower applies the MODEL stream's promotions, rollbacks and rejections), so a process that
 * cannot hear the stream asks the registry every time rather than serve a stale alias.
 */
export class VersionResolver implements AliasCache {
  private readonly specs: Lru<string, SearchSpec>;
  /** tenant → alias → target (null: the tenant has no such alias). */
  private readonly aliases: Lru<string, Map<string, Target | null>>;
  /** Bumped by every event and reset: a registry answer older than it is not cached. */
  private seq = 0;
  private following = false;
  private downUntil = 0;
  private readonly flights = new Map<string, Promise<unknown>>();

  constructor(
    private readonly registry: RegistryApi,
    private readonly o: ResolverOptions,
  ) {
    this.specs = new Lru(o.specCacheSize);
    this.aliases = new Lru(o.aliasCacheSize);
  }

  async resolve(r: ResolveRequest): Promise<Resolved> {
    if (r.version) {
      // An explicit version is served whatever its state: evaluating a rejected one is allowed.
      const spec = await this.explicit(`version ${r.version}`, () =>
        this.specOf(r.tenant, r.version),
      );
      return { version: r.version, spec, warnings: [] };
    }
    if (r.alias && r.alias !== "prod") {
      const t = await this.explicit(`alias ${r.alias}`, () => this.target(r.tenant, r.alias));
      if (!t) throw noAlias(r.tenant, r.alias);
      if (t.rejected) throw rejectedAlias(r.alias, t.version);
      const spec = await this.explicit(`alias ${r.alias}`, () => this.specOf(r.tenant, t.version));
      return { version: t.version, spec, warnings: [] };
    }
    try {
      let prod = (await this.target(r.tenant, "prod")) ?? undefined;
      if (!prod) {
        // A tenant with data always has a prod: its base version, written out on first use
        // (whether `prod` was named or implied).
        if (!this.o.hasData(r.tenant)) {
          if (r.alias) throw noAlias(r.tenant, r.alias);
          return { version: "", spec: this.o.fallback(r.tenant), warnings: [] };
        }
        prod = await this.ensureBase(r.tenant);
        if (!prod) {
          if (r.alias) throw noAlias(r.tenant, r.alias);
          return this.fallback(r.tenant, "no index version is served yet, so no base version");
        }
      }
      if (prod.rejected) throw rejectedAlias("prod", prod.version);
      const warnings: string[] = [];
      const chosen = (await this.canaryFor(r, prod, warnings)) ?? prod;
      return {
        version: chosen.version,
        spec: await this.specOf(r.tenant, chosen.version),
        warnings,
      };
    } catch (err) {
      if (!(err instanceof RegistryUnavailableError)) throw err;
      if (r.alias) throw unavailable(`alias ${r.alias}`, err);
      return this.fallback(r.tenant, err.reason);
    }
  }

  /** Whether alias targets may be cached: only while the MODEL stream is being followed. */
  setFollowing(on: boolean): void {
    this.following = on;
    this.reset();
  }

  /** Forgets every alias target (specs stay: they never change). */
  reset(): void {
    this.seq++;
    this.aliases.clear();
  }

  /** A change the MODEL stream brought (ModelEventFollower). */
  apply(c: AliasChange): void {
    if (c.kind === "promoted") this.onPromoted(c.event);
    else if (c.kind === "rolled_back") this.onRolledBack(c.event);
    else this.onRejected(c.event);
  }

  onPromoted(e: ModelPromoted): void {
    if (e.model !== RETRIEVAL_MODEL) return;
    if (!VERSION_NAME.test(e.version) || !(e.weight >= 0)) {
      this.forget(e.tenant);
      return;
    }
    this.setTarget(e.tenant, e.alias, {
      version: e.version,
      weight: e.alias === "prod" ? 1 : Math.min(1, e.weight),
      rejected: false,
    });
    // A canary promoted to prod is cleared without an event of its own: ask again when needed.
    if (e.alias === "prod") this.forget(e.tenant, "canary");
    // Warm the spec so the first search at the new version does not wait for the registry.
    this.specOf(e.tenant, e.version).catch(() => {});
  }

  onRolledBack(e: ModelRolledBack): void {
    if (e.model !== RETRIEVAL_MODEL) return;
    if (e.alias === "prod" && VERSION_NAME.test(e.version))
      this.setTarget(e.tenant, "prod", { version: e.version, weight: 1, rejected: false });
    // A canary's weight before is not in the event: ask the registry when next needed.
    else this.forget(e.tenant, e.alias);
  }

  onRejected(e: ModelRejected): void {
    if (e.model !== RETRIEVAL_MODEL) return;
    this.forget(e.tenant);
  }

  private setTarget(tenant: string, alias: string, t: Target): void {
    this.seq++;
    if (!this.following) return;
    let m = this.aliases.get(tenant);
    if (!m) {
      m = new Map();
      this.aliases.set(tenant, m);
    }
    m.set(alias, t);
  }

  private forget(tenant: string, alias?: string): void {
    this.seq++;
    if (alias === undefined) this.aliases.delete(tenant);
    else this.aliases.get(tenant)?.delete(alias);
  }

  private fallback(tenant: string, reason: string): Resolved {
    this.o.logger.warn(
      { tenant, reason },
      "searching at the configured defaults, no registry version",
    );
    return {
      version: "",
      spec: this.o.fallback(tenant),
      warnings: [
        `registry version unknown (${reason}): searched with the service's default parameters`,
      ],
    };
  }

  /** Where a prod request goes when the tenant has a canary: `weight` of keys (sticky), else none. */
  private async canaryFor(
    r: ResolveRequest,
    prod: Target,
    warnings: string[],
  ): Promise<Target | undefined> {
    let canary: Target | null;
    try {
      canary = await this.target(r.tenant, "canary");
    } catch (err) {
      if (!(err instanceof RegistryUnavailableError)) throw err;
      warnings.push(`canary unknown (${err.reason}): searched at prod`);
      return undefined;
    }
    if (!canary || canary.rejected || canary.version === prod.version) return undefined;
    return takesCanary(r.tenant, r.routingKey, canary.weight, this.o.random) ? canary : undefined;
  }

  private async target(tenant: string, alias: string): Promise<Target | null> {
    if (this.following) {
      const hit = this.aliases.get(tenant)?.get(alias);
      if (hit !== undefined) return hit;
    }
    return this.once(`alias\u0000${tenant}\u0000${alias}`, async () => {
      const seq = this.seq;
      let t: Target | null;
      try {
        const res = await this.call((o) =>
          this.registry.resolveAlias({ tenant, model: RETRIEVAL_MODEL, alias }, o),
        );
        const mv = checkVersion(tenant, res.version);
        this.keepSpec(tenant, mv);
        t = {
          version: mv.version,
          weight: alias === "prod" ? 1 : Math.min(1, Math.max(0, res.alias?.weight ?? 0)),
          rejected: mv.state === VersionState.REJECTED,
        };
      } catch (err) {
        if (!isNotFound(err)) throw err;
        t = null;
      }
      if (this.following && seq === this.seq) {
        let m = this.aliases.get(tenant);
        if (!m) {
          m = new Map();
          this.aliases.set(tenant, m);
        }
        m.set(alias, t);
      }
      return t;
    });
  }

  private async specOf(tenant: string, version: string): Promise<SearchSpec> {
    const key = `${tenant}\u0000${version}`;
    const hit = this.specs.get(key);
    if (hit) return hit;
    return this.once(`spec\u0000${key}`, async () => {
      let mv: ModelVersion;
      try {
        const res = await this.call((o) => this.registry.getVersion({ tenant, version }, o));
        mv = checkVersion(tenant, res.version);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        throw new ConnectError(
          `version ${version}: tenant ${tenant} has no such registry version`,
          Code.NotFound,
        );
      }
      if (mv.version !== version)
        throw new RegistryUnavailableError(`it answered ${mv.version} for ${version}`);
      const spec = fromRegistrySpec(version, mv.spec);
      this.specs.set(key, spec);
      return spec;
    });
  }

  /** Caches a version's spec that came along with another answer (when it is usable). */
  private keepSpec(tenant: string, mv: ModelVersion): void {
    try {
      this.specs.set(`${tenant}\u0000${mv.version}`, fromRegistrySpec(mv.version, mv.spec));
    } catch {
      // Unusable: specOf refuses it, naming the problem, when a search needs it.
    }
  }

  /** Creates the tenant's base version from the service's defaults; undefined when it cannot yet. */
  private async ensureBase(tenant: string): Promise<Target | undefined> {
    const spec = this.o.baseSpec(tenant);
    if (!spec) return undefined;
    const seq = this.seq;
    const res = await this.once(`base\u0000${tenant}`, () =>
      this.call((o) =>
        this.registry.ensureBase({ tenant, model: RETRIEVAL_MODEL, spec: toRegistrySpec(spec) }, o),
      ),
    );
    const mv = checkVersion(tenant, res.version);
    this.keepSpec(tenant, mv);
    if (!res.created) {
      // The model had versions after all (made meanwhile): its prod is what serves.
      const prod = await this.target(tenant, "prod");
      if (prod) return prod;
    } else this.o.logger.info({ tenant, version: mv.version }, "registry base version created");
    const t = { version: mv.version, weight: 1, rejected: mv.state === VersionState.REJECTED };
    if (res.created && this.following && seq === this.seq) this.setTarget(tenant, "prod", t);
    return t;
  }

  /** Runs `f` once for concurrent callers with the same key. */
  private once<T>(key: string, f: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running) return running as Promise<T>;
    const p = f().finally(() => this.flights.delete(key));
    this.flights.set(key, p);
    return p;
  }

  /**
   * One registry call under the deadline. NOT_FOUND passes through; anything else is a
   * RegistryUnavailableError (the registry is a dependency, its failures are not the client's).
   * No caller's signal: a call may be shared by several searches.
   */
  private async call<T>(f: (o: CallOptions) => Promise<T>): Promise<T> {
    if (Date.now() < this.downUntil)
      throw new RegistryUnavailableError("it did not answer a moment ago");
    try {
      return await f({ timeoutMs: this.o.timeoutMs });
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.NotFound) throw ce;
      if (ce.code === Code.Unavailable || ce.code === Code.DeadlineExceeded)
        this.downUntil = Date.now() + DOWN_MS;
      this.o.logger.warn({ code: Code[ce.code] }, "registry call failed");
      throw new RegistryUnavailableError(Code[ce.code] ?? "unknown error", { cause: ce });
    }
  }

  /** Registry failures of an explicitly named version or alias reach the client as UNAVAILABLE. */
  private async explicit<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof RegistryUnavailableError) throw unavailable(what, err);
      throw err;
    }
  }
}

function checkVersion(tenant: string, mv: ModelVersion | undefined): ModelVersion {
  if (!mv || !VERSION_NAME.test(mv.version))
    throw new RegistryUnavailableError("it answered without a usable version");
  // The registry is scoped by tenant; an answer about another tenant's version is never used.
  if (mv.tenant && mv.tenant !== tenant)
    throw new RegistryUnavailableError("it answered about another tenant");
  return mv;
}
