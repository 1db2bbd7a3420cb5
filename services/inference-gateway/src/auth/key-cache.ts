import type { Database } from "@tailor/db";
import type { Logger } from "@tailor/telemetry";
import type { GatewayConfig } from "../config.js";
import type { GatewayDB } from "../db/schema.js";
import { type EffectiveLimits, effectiveLimits } from "./limits.js";

/** What a replica remembers of a key between database reads. */
export interface KeyRecord {
  id: string;
  tenant: string;
  secretHash: Buffer;
  revoked: boolean;
  limits: EffectiveLimits;
}

interface Entry {
  /** Undefined: no such key (remembered too, so made-up ids cannot hammer the database). */
  record: KeyRecord | undefined;
  expiresAt: number;
}

/** Entries kept at most; the oldest go first (a flood of made-up ids cannot grow it). */
const MAX_ENTRIES = 10_000;
/** `last_used_at` is written at most this often per key and replica. */
const TOUCH_EVERY_MS = 60_000;

export interface KeyCacheDeps {
  config: Pick<GatewayConfig, "keyCacheMs" | "limits">;
  database: Database<GatewayDB>;
  logger: Logger;
}

/**
 * Keys as this replica knows them, each trusted for `keyCacheMs` after it was read: a key
 * revoked through another replica is refused here once its entry expires. Concurrent lookups of
 * one key share a single read.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<KeyRecord | undefined>>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly deps: KeyCacheDeps,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string): Promise<KeyRecord | undefined> {
    const hit = this.entries.get(id);
    if (hit && hit.expiresAt > this.now()) return hit.record;
    const pending = this.loading.get(id);
    if (pending) return pending;
    const load = this.load(id).finally(() => this.loading.delete(id));
    this.loading.set(id, load);
    return load;
  }

  /** Forgets a key at once (this replica revoked it or changed it). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Records that the key was used, writing `last_used_at` at most once a minute (not awaited). */
  touch(id: string): void {
    const now = this.now();
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    if (this.touched.size >= MAX_ENTRIES) this.touched.clear();
    this.touched.set(id, now);
    this.deps.database.db
      .updateTable("api_keys")
      .set({ last_used_at: new Date(now) })
      .where("id", "=", id)
      .execute()
      .catch((err: unknown) =>
        this.deps.logger.warn({ err, keyId: id }, "could not record when the key was last used"),
      );
  }

  private async load(id: string): Promise<KeyRecord | undefined> {
    const row = await this.deps.database.db
      .selectFrom("api_keys")
      .select([
        "id",
        "tenant",
        "secret_hash",
        "revoked_at",
        "requests_per_second",
        "burst",
        "token_budget",
      ])
      .where("id", "=", id)
      .executeTakeFirst();
    const record: KeyRecord | undefined = row && {
      id: row.id,
      tenant: row.tenant,
      secretHash: row.secret_hash,
      revoked: row.revoked_at !== null,
      limits: effectiveLimits(row, this.deps.config.limits),
    };
    if (this.deps.config.keyCacheMs > 0) {
      if (this.entries.size >= MAX_ENTRIES) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.delete(id);
      this.entries.set(id, { record, expiresAt: this.now() + this.deps.config.keyCacheMs });
    }
    return record;
  }
}
