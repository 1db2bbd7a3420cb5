import { create } from "@bufbuild/protobuf";
import { type ModelInfo, ModelInfoSchema } from "@tailor/proto";
import { notFound } from "@tailor/service";
import type { BatchedEmbedder } from "./embedder-pool.js";

/** The models this process has loaded, by name and version. */
export class ModelRegistry {
  private readonly embedders = new Map<string, BatchedEmbedder[]>();
  private defaultEmbedder = "";

  addEmbedder(e: BatchedEmbedder, isDefault = false): void {
    const list = this.embedders.get(e.model.name) ?? [];
    list.push(e);
    this.embedders.set(e.model.name, list);
    if (isDefault || !this.defaultEmbedder) this.defaultEmbedder = e.model.name;
  }

  /** The embedder named (or the default); the newest loaded version unless one is asked for. */
  embedder(name: string, version: string): BatchedEmbedder {
    const n = name || this.defaultEmbedder;
    const list = this.embedders.get(n);
    if (!list || list.length === 0) throw notFound(`model ${JSON.stringify(n)}`);
    if (!version) return list[list.length - 1]!;
    const e = list.find((x) => x.model.version === version);
    if (!e) throw notFound(`model ${n} version ${JSON.stringify(version)}`);
    return e;
  }

  list(): ModelInfo[] {
    return [...this.embedders.values()].flat().map((e) =>
      create(ModelInfoSchema, {
        name: e.model.name,
        version: e.model.version,
        kind: "embedder",
        executionProvider: e.model.executionProvider,
        dimensions: e.model.dimensions,
        memoryBytes: BigInt(e.model.memoryBytes),
        queueDepth: e.batcher.queueDepth,
      }),
    );
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.embedders.values()].flat().map((e) => e.close()));
    this.embedders.clear();
  }
}
