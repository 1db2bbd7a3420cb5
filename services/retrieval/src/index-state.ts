import { randomBytes } from "node:crypto";
import { appendFile, mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Small durable state beside the index: its id (which names its durable consumer), tombstones
 * of deleted chunk ids (so a late or redelivered embedding of a deleted chunk cannot bring it
 * back) and the active model version.
 */
export class IndexState {
  private readonly tombstones = new Set<string>();
  private pending: string[] = [];
  activeVersion = "";
  /** Names this index's durable consumer: a new or wiped index gets a new one and replays the stream. */
  indexId = "";

  constructor(private readonly dir: string) {}

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const text = await readFile(join(this.dir, "tombstones.log"), "utf8").catch(() => "");
    for (const line of text.split("\n")) if (line) this.tombstones.add(line);
    const state = await readFile(join(this.dir, "state.json"), "utf8").catch(() => "");
    const parsed = state ? (JSON.parse(state) as { activeVersion?: string; indexId?: string }) : {};
    this.activeVersion = parsed.activeVersion ?? "";
    this.indexId = parsed.indexId ?? "";
    if (!this.indexId) {
      this.indexId = randomBytes(6).toString("hex");
      await this.writeState();
    }
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

  async setActiveVersion(v: string): Promise<void> {
    if (v === this.activeVersion) return;
    this.activeVersion = v;
    await this.writeState();
  }

  private async writeState(): Promise<void> {
    const tmp = join(this.dir, "state.json.tmp");
    await writeFile(
      tmp,
      JSON.stringify({ activeVersion: this.activeVersion, indexId: this.indexId }),
    );
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
