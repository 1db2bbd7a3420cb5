import { randomBytes } from "node:crypto";
import { appendFile, mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * How indexes are named on disk: 2 = one index version per exact embedder (`name@version`). An
 * index of an older layout gets a new id, so its consumer replays the stream into the new names.
 */
const LAYOUT = 2;

interface StateFile {
  layout?: number;
  indexId?: string;
  /** Tenants served at another index version than the default, by tenant. */
  served?: Record<string, string>;
  /** Index versions built beside the served one, by tenant, then by `name@version`. */
  versions?: Record<string, Record<string, IndexVersionRecord>>;
}

/**
 * An index version built for a tenant beside the one the embedding events fill. `building`: a
 * BuildIndexVersion has not finished (`after` is the last chunk id whose vector is durable, where
 * a resumed build continues); `live`: built, and kept current by re-embedding what the events
 * bring. `stale`: a change could not be embedded at it (its embedder was away), so a new build
 * must run before it is whole again.
 */
export interface IndexVersionRecord {
  status: "building" | "live";
  after: string;
  stale: boolean;
}

/**
 * Small durable state beside the index: its id (which names its durable consumer), tombstones
 * of deleted chunk ids (so a late or redelivered embedding of a deleted chunk cannot bring it
 * back) and the index version each tenant is served at. Which version a tenant is served at is
 * only ever set explicitly (config default, per-tenant override), never by the events seen.
 */
export class IndexState {
  private readonly tombstones = new Set<string>();
  private pending: string[] = [];
  private readonly served = new Map<string, string>();
  private readonly versions = new Map<string, Map<string, IndexVersionRecord>>();
  private writing: Promise<void> = Promise.resolve();
  /** The index version (`name@version`) tenants without an override are served at; set at start. */
  defaultVersion = "";
  /** Names this index's durable consumer: a new or wiped index gets a new one and replays the stream. */
  indexId = "";

  constructor(private readonly dir: string) {}

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const text = await readFile(join(this.dir, "tombstones.log"), "utf8").catch(() => "");
    for (const line of text.split("\n")) if (line) this.tombstones.add(line);
    const state = await readFile(join(this.dir, "state.json"), "utf8").catch(() => "");
    const parsed: StateFile = state ? (JSON.parse(state) as StateFile) : {};
    for (const [tenant, v] of Object.entries(parsed.served ?? {})) this.served.set(tenant, v);
    for (const [tenant, byVersion] of Object.entries(parsed.versions ?? {}))
      this.versions.set(tenant, new Map(Object.entries(byVersion)));
    this.indexId = parsed.layout === LAYOUT ? (parsed.indexId ?? "") : "";
    if (!this.indexId) {
      this.indexId = randomBytes(6).toString("hex");
      await this.writeState();
    }
  }

  /** The index version `tenant` is served at: its override, else the default. */
  servedVersion(tenant: string): string {
    return this.served.get(tenant) ?? this.defaultVersion;
  }

  /** Serves `tenant` at `version` (`name@version`), or at the default again when empty. Durable on return. */
  async setServedVersion(tenant: string, version: string): Promise<void> {
    if (version) this.served.set(tenant, version);
    else this.served.delete(tenant);
    await this.writeState();
  }

  /** The index versions built (or being built) for `tenant` beside the event-filled one. */
  indexVersionsOf(tenant: string): ReadonlyMap<string, IndexVersionRecord> {
    return this.versions.get(tenant) ?? new Map();
  }

  indexVersion(tenant: string, version: string): IndexVersionRecord | undefined {
    return this.versions.get(tenant)?.get(version);
  }

  /** Records (or updates) a built index version of `tenant`. Durable on return. */
  async putIndexVersion(tenant: string, version: string, rec: IndexVersionRecord): Promise<void> {
    let m = this.versions.get(tenant);
    if (!m) {
      m = new Map();
      this.versions.set(tenant, m);
    }
    m.set(version, { ...rec });
    await this.writeState();
  }

  /** Forgets a built index version of `tenant` (its vectors are the caller's). Durable on return. */
  async removeIndexVersion(tenant: string, version: string): Promise<void> {
    const m = this.versions.get(tenant);
    if (!m?.delete(version)) return;
    if (m.size === 0) this.versions.delete(tenant);
    await this.writeState();
  }

  isDeleted(chunkId: string): boolean {
    return this.tombstones.has(chunkId);
  }

  markDeleted(ids: string[]): void {
    for (const id of ids) {
      if (this.tombstones.has(id)) continue;
      this.tombstones.add(id);
      this.pending.push(id);
    }
  }

  /** Writes are chained: two at once would share the temporary file. Each writes the latest state. */
  private writeState(): Promise<void> {
    const next = this.writing
      .catch(() => {})
      .then(async () => {
        const tmp = join(this.dir, "state.json.tmp");
        const body: StateFile = {
          layout: LAYOUT,
          indexId: this.indexId,
          served: Object.fromEntries(this.served),
          versions: Object.fromEntries(
            [...this.versions].map(([tenant, m]) => [tenant, Object.fromEntries(m)]),
          ),
        };
        await writeFile(tmp, JSON.stringify(body));
        await rename(tmp, join(this.dir, "state.json"));
      });
    this.writing = next;
    return next;
  }

  /** Appends new tombstones and fsyncs; called before acknowledging the messages that made them. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const lines = `${this.pending.join("\n")}\n`;
    this.pending = [];
    const path = join(this.dir, "tombstones.log");
    await appendFile(path, lines);
    const fh = await open(path, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
