import { appendFile, mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Small durable state beside the index: tombstones of deleted chunk ids (so a late or
 * redelivered embedding of a deleted chunk cannot bring it back) and the active model version.
 */
export class IndexState {
  private readonly tombstones = new Set<string>();
  private pending: string[] = [];
  activeVersion = "";

  constructor(private readonly dir: string) {}

  /** Loads the state; returns true when there was none (a new index that must replay the stream). */
  async open(): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    const text = await readFile(join(this.dir, "tombstones.log"), "utf8").catch(() => "");
    for (const line of text.split("\n")) if (line) this.tombstones.add(line);
    const state = await readFile(join(this.dir, "state.json"), "utf8").catch(() => "");
    if (state)
      this.activeVersion = (JSON.parse(state) as { activeVersion?: string }).activeVersion ?? "";
    return !state && text === "";
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
    const tmp = join(this.dir, "state.json.tmp");
    await writeFile(tmp, JSON.stringify({ activeVersion: v }));
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
