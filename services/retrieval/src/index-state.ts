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

  private async writeState(): Promise<void> {
    const tmp = join(this.dir, "state.json.tmp");
    const body: StateFile = {
      layout: LAYOUT,
      indexId: this.indexId,
      served: Object.fromEntries(this.served),
    };
    await writeFile(tmp, JSON.stringify(body));
    await rename(tmp, join(this.dir, "state.json"));
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
