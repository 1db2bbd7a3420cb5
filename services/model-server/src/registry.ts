import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Artifact, type ArtifactStore, newestVersion, parseModelRef } from "@tailor/artifacts";
import { loadHfFolder } from "@tailor/models";
import { type ModelInfo, ModelInfoSchema } from "@tailor/proto";
import { notFound } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import { CausalLm } from "./runtime/causal-lm.js";
import { EncoderModel } from "./runtime/encoder.js";
import type { ExecutionProvider } from "./runtime/execution-provider.js";
import {
  type BatchLimits,
  type ServedEmbedder,
  type ServedModel,
  serveCausalLm,
  serveEncoder,
} from "./served-model.js";

/** Options of {@link ModelRegistry}. */
export interface ModelRegistryOptions {
  store: ArtifactStore;
  executionProvider: ExecutionProvider;
  intraOpThreads?: number;
  interOpThreads?: number;
  batch: BatchLimits;
  generation: { maxConcurrentStreams: number; maxQueuedStreams: number };
  logger: Logger;
}

const MAX_ITEMS_PER_CALL = 4096;

/** An artifact was found but cannot be loaded; the message is safe to show a client. */
export class ModelLoadFailedError extends Error {
  override readonly name = "ModelLoadFailedError";
  readonly code = "model_load_failed";
}

/** The models this process has loaded, of every kind, by name and version. */
export class ModelRegistry {
  private readonly models = new Map<string, Map<string, ServedModel>>();
  private readonly loading = new Map<string, Promise<ServedModel>>();
  /** Name served when an Embed call names no model; empty when there is none. */
  private defaultName = "";

  constructor(private readonly o: ModelRegistryOptions) {}

  /** Adds an already-built model (the built-in embedder); `isDefault` makes it serve unnamed Embed calls. */
  add(model: ServedModel, isDefault = false): void {
    const versions = this.models.get(model.name) ?? new Map<string, ServedModel>();
    versions.set(model.version, model);
    this.models.set(model.name, versions);
    if (isDefault) this.defaultName = model.name;
  }

  /** Makes `name` serve Embed calls that name no model. */
  setDefaultEmbedder(name: string): void {
    this.defaultName = name;
  }

  /** Items one call may carry: a request larger than the queue could never be accepted. */
  get maxItemsPerCall(): number {
    return Math.min(MAX_ITEMS_PER_CALL, this.o.batch.maxQueueItems);
  }

  get defaultEmbedder(): string {
    return this.defaultName;
  }

  /** The model named (empty: the default embedder) at `version` (empty: the newest loaded). */
  get(name: string, version: string): ServedModel {
    const n = name || this.defaultName;
    if (!n) throw notFound("default embedder (none is configured; name a model)");
    const versions = this.models.get(n);
    const v = version || newestVersion(versions?.keys() ?? []);
    const model = v === undefined ? undefined : versions?.get(v);
    if (!model) {
      throw notFound(
        version ? `model ${n} version ${JSON.stringify(version)}` : `model ${JSON.stringify(n)}`,
      );
    }
    return model;
  }

  /** Like {@link get}, but FAILED_PRECONDITION unless the model is of one of `kinds`. */
  getKind<K extends ServedModel["kind"]>(
    name: string,
    version: string,
    kinds: readonly K[],
    rpc: string,
  ): Extract<ServedModel, { kind: K }> {
    const m = this.get(name, version);
    if (!(kinds as readonly string[]).includes(m.kind)) {
      throw new ConnectError(
        `${m.name}@${m.version} is a ${m.kind}; ${rpc} needs a ${kinds.join(" or ")}`,
        Code.FailedPrecondition,
      );
    }
    return m as Extract<ServedModel, { kind: K }>;
  }

  list(): ModelInfo[] {
    return [...this.models.values()].flatMap((versions) => [...versions.values()].map(infoOf));
  }

  /**
   * Loads `name` (at `version`, or the store's newest) from the artifact store; a version already
   * loaded (or loading) is returned as it is. `base` (name or name@version) picks an adapter's
   * base embedder, default its config.json `base`; the base must be loaded already.
   */
  async load(name: string, version = "", base = ""): Promise<ServedModel> {
    const already = version ? this.models.get(name)?.get(version) : undefined;
    if (already) return already;
    const artifact = await this.o.store.resolve(name, version);
    const key = `${artifact.name}@${artifact.version}`;
    const loaded = this.models.get(artifact.name)?.get(artifact.version);
    if (loaded) return loaded;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.build(artifact, base).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    const model = await pending;
    if (!this.models.get(model.name)?.has(model.version)) this.add(model);
    return model;
  }

  /**
   * Unloads `name` at `version` (empty: every loaded version). New calls get NOT_FOUND at once;
   * calls already queued finish first. Refused for the default embedder's last version and for
   * a base that loaded adapters still use.
   */
  async unload(name: string, version: string): Promise<void> {
    const versions = this.models.get(name);
    const targets = version
      ? [versions?.get(version)].filter((m) => m !== undefined)
      : [...(versions?.values() ?? [])];
    if (targets.length === 0)
      throw notFound(
        version ? `model ${name} version ${JSON.stringify(version)}` : `model ${name}`,
      );
    if (name === this.defaultName && targets.length === versions!.size) {
      throw new ConnectError(
        `${name} is the default embedder and cannot be unloaded`,
        Code.FailedPrecondition,
      );
    }
    for (const t of targets) {
      const key = `${t.name}@${t.version}`;
      const users = this.all().filter((m) => m.base === key);
      if (users.length > 0) {
        throw new ConnectError(
          `${key} is the base of ${users.map((u) => `${u.name}@${u.version}`).join(", ")}; unload them first`,
          Code.FailedPrecondition,
        );
      }
    }
    for (const t of targets) versions!.delete(t.version);
    if (versions!.size === 0) this.models.delete(name);
    await Promise.all(targets.map((t) => t.close({ drain: true })));
    this.o.logger.info({ name, versions: targets.map((t) => t.version) }, "unloaded model");
  }

  /** Ends everything at shutdown: adapters first, since they hold their base. */
  async closeAll(): Promise<void> {
    const all = this.all();
    this.models.clear();
    const adapters = all.filter((m) => m.base !== null);
    await Promise.all(adapters.map((m) => m.close({ drain: false })));
    await Promise.all(all.filter((m) => m.base === null).map((m) => m.close({ drain: false })));
  }

  private all(): ServedModel[] {
    return [...this.models.values()].flatMap((v) => [...v.values()]);
  }

  private async build(a: Artifact, baseRef: string): Promise<ServedModel> {
    const started = performance.now();
    const label = `${a.name}@${a.version}`;
    const threads = {
      executionProvider: this.o.executionProvider,
      ...(this.o.intraOpThreads && { intraOpThreads: this.o.intraOpThreads }),
      ...(this.o.interOpThreads && { interOpThreads: this.o.interOpThreads }),
    };
    let model: ServedModel;
    try {
      // Names the first missing or invalid file before onnxruntime gets a chance to be vaguer.
      const folder = await loadHfFolder(a.dir);
      if (folder.kind !== a.kind) {
        throw new ModelLoadFailedError(
          `${label}: the manifest says ${a.kind} but config.json describes a ${folder.kind}`,
        );
      }
      if (folder.kind === "causal-lm") {
        const lm = await CausalLm.load(a.dir, { ...threads, ...this.o.generation });
        model = serveCausalLm(lm, folder, { name: a.name, version: a.version });
      } else {
        const base =
          folder.kind === "adapter" ? this.baseFor(label, baseRef || folder.config.base) : null;
        const encoder = await EncoderModel.load(a.dir, {
          ...threads,
          name: a.name,
          version: a.version,
          ...(base && { base: base.asBase }),
        });
        model = serveEncoder(encoder, this.o.batch, base);
      }
    } catch (err) {
      if (err instanceof ConnectError || err instanceof ModelLoadFailedError) throw err;
      // Client-facing: the cache path is an internal, the artifact's name is what the caller knows.
      const message = err instanceof Error ? err.message.split(a.dir).join(label) : String(err);
      throw new ModelLoadFailedError(message.startsWith(label) ? message : `${label}: ${message}`, {
        cause: err,
      });
    }
    this.o.logger.info(
      {
        name: a.name,
        version: a.version,
        kind: model.kind,
        loadMs: Math.round(performance.now() - started),
      },
      "model loaded",
    );
    return model;
  }

  private baseFor(label: string, ref: string | undefined): ServedEmbedder {
    if (!ref) {
      throw new ConnectError(
        `${label} is an adapter; name its base embedder in base`,
        Code.FailedPrecondition,
      );
    }
    const parsed = parseModelRef(ref);
    if (typeof parsed === "string") throw new ModelLoadFailedError(`${label}: base ${parsed}`);
    let base: ServedModel;
    try {
      base = this.get(parsed.name, parsed.version);
    } catch {
      throw new ConnectError(
        `base ${ref} of adapter ${label} is not loaded; load it first`,
        Code.FailedPrecondition,
      );
    }
    if (base.kind !== "embedder" && base.kind !== "adapter") {
      throw new ConnectError(
        `base ${base.name}@${base.version} of adapter ${label} is a ${base.kind}; an adapter needs an embedder`,
        Code.FailedPrecondition,
      );
    }
    return base as ServedEmbedder;
  }
}

/** The ListModels view of a loaded model. */
export function infoOf(m: ServedModel): ModelInfo {
  return create(ModelInfoSchema, {
    name: m.name,
    version: m.version,
    kind: m.kind,
    executionProvider: m.executionProvider,
    dimensions: m.dimensions,
    memoryBytes: BigInt(m.memoryBytes),
    queueDepth: m.queueDepth,
    labels: [...m.labels],
  });
}
