import type { CallOptions, Client } from "@connectrpc/connect";
import type { ChunkVerdict, GuardService } from "@tailor/proto";
import { Lru } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import { call } from "./downstream.js";

/** Verdicts kept per replica (a verdict is a few hundred bytes). */
const CAPACITY = 100_000;

/**
 * The guard's ingest-time chunk verdicts, cached. A chunk id names one revision of one document
 * (ingestion hashes the revision into it), so its text, and the verdict made once on it, never
 * change: a found verdict is kept; a chunk not scanned yet is asked for again next time.
 */
export class ChunkVerdicts {
  private readonly lru = new Lru<string, ChunkVerdict>(CAPACITY);

  constructor(
    private readonly guard: Client<typeof GuardService>,
    private readonly logger: Logger,
  ) {}

  async get(
    tenant: string,
    chunkIds: readonly string[],
    opts: CallOptions,
  ): Promise<ChunkVerdict[]> {
    const found: ChunkVerdict[] = [];
    const missing: string[] = [];
    for (const id of chunkIds) {
      const v = this.lru.get(`${tenant}\u0000${id}`);
      if (v) found.push(v);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const r = await call(
      "guard",
      this.logger,
      this.guard.getChunkVerdicts({ tenant, chunkIds: missing }, opts),
    );
    for (const v of r.verdicts) {
      this.lru.set(`${tenant}\u0000${v.chunkId}`, v);
      found.push(v);
    }
    return found;
  }
}
