import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import type { Database } from "@tailor/db";
import {
  createGuard,
  type Gazetteer,
  type Guard,
  type Action as GuardAction,
  type Policy as GuardPolicy,
  type InjectionClassifier,
} from "@tailor/guard";
import { type Policy, PolicySchema } from "@tailor/proto";
import type { GuardDB } from "./db/schema.js";
import {
  checkPolicy,
  DEFAULT_GROUNDING_THRESHOLD,
  type Stage,
  toGuardAction,
  toGuardPolicy,
} from "./policy.js";

type GuardStage = Exclude<Stage, "scan">;
const STAGES: GuardStage[] = ["input", "output", "content"];

/** One tenant's guards, one per stage, built from its policy. */
export interface TenantGuard {
  tenant: string;
  policy: Policy;
  guards: Record<GuardStage, Guard>;
  policies: Record<GuardStage, GuardPolicy>;
  groundingThreshold: number;
  groundingAction: GuardAction;
}

interface Entry {
  at: number;
  guard: Promise<TenantGuard>;
}

const MAX_CACHED = 10_000;

/**
 * Per-tenant guards, cached. SetPolicy on this replica drops the tenant's entry at once; another
 * replica's change is picked up once the entry is older than `ttlMs`.
 */
export class TenantGuards {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly database: Database<GuardDB>,
    private readonly gazetteer: Gazetteer,
    private readonly ttlMs: number,
    /** Each tenant's trained injection classifier (undefined: heuristics only). */
    private readonly classifiers?: {
      get(tenant: string): Promise<InjectionClassifier | undefined>;
      onChange(fn: (tenant: string | undefined) => void): void;
    },
  ) {
    // A new prod classifier is used from the next call on, not after the policy TTL.
    classifiers?.onChange((tenant) => (tenant ? this.cache.delete(tenant) : this.cache.clear()));
  }

  async get(tenant: string): Promise<TenantGuard> {
    const hit = this.cache.get(tenant);
    if (hit && Date.now() - hit.at <= this.ttlMs) return hit.guard;
    const guard = this.load(tenant);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(tenant, { at: Date.now(), guard });
    guard.catch(() => this.cache.delete(tenant));
    return guard;
  }

  /** The tenant's stored policy, or the default (empty) one. */
  async policy(tenant: string): Promise<Policy> {
    const row = await this.database.db
      .selectFrom("policies")
      .select("policy")
      .where("tenant", "=", tenant)
      .executeTakeFirst();
    return row ? fromJson(PolicySchema, row.policy as JsonValue) : create(PolicySchema);
  }

  /** Stores a (checked) policy and drops the cached guard so the next call uses it. */
  async setPolicy(tenant: string, policy: Policy): Promise<void> {
    checkPolicy(policy);
    const json = toJson(PolicySchema, policy);
    await this.database.db
      .insertInto("policies")
      .values({ tenant, policy: JSON.stringify(json) })
      .onConflict((oc) =>
        oc.column("tenant").doUpdateSet({ policy: JSON.stringify(json), updated_at: new Date() }),
      )
      .execute();
    this.cache.delete(tenant);
  }

  private async load(tenant: string): Promise<TenantGuard> {
    const [policy, classifier] = await Promise.all([
      this.policy(tenant),
      this.classifiers?.get(tenant),
    ]);
    const policies = Object.fromEntries(STAGES.map((s) => [s, toGuardPolicy(policy, s)])) as Record<
      GuardStage,
      GuardPolicy
    >;
    const guards = Object.fromEntries(
      await Promise.all(
        STAGES.map(async (s) => [s, await createGuard(policies[s], classifier, this.gazetteer)]),
      ),
    ) as Record<GuardStage, Guard>;
    return {
      tenant,
      policy,
      guards,
      policies,
      groundingThreshold:
        policy.groundingThreshold > 0 ? policy.groundingThreshold : DEFAULT_GROUNDING_THRESHOLD,
      groundingAction: toGuardAction(policy.groundingAction) ?? "flag",
    };
  }
}
