import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { type ArtifactStore, parseModelRef } from "@tailor/artifacts";
import type { AliasCache, AliasChange } from "@tailor/bus";
import { InjectionClassifier, type LinearModelJson } from "@tailor/guard";
import type { RegistryService } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";

/** The registry model whose prod version is a tenant's injection classifier. */
export const GUARD_MODEL = "guard";
/** The weights inside a published classifier folder (the trainer's kind `guard` writes it). */
const CLASSIFIER_FILE = "classifier.json";
/** 2^24 float32 weights in base64 are about 90 MB: a larger file is not a classifier. */
const MAX_CLASSIFIER_BYTES = 128 * 1024 * 1024;
const MAX_TENANTS = 10_000;
const MAX_VERSIONS = 256;

export interface ClassifierOptions {
  registry: Client<typeof RegistryService>;
  /** Where the trainer published the classifiers (read when a version is first needed). */
  store: () => ArtifactStore;
  logger: Logger;
  /** How long one ResolveAlias may take before the tenant is served by the heuristics. */
  resolveTimeoutMs: number;
  /** After a failure (registry down, artifact unreadable), how long until the next try. */
  retryMs: number;
  /** How long an answer is trusted without a promotion event (a safety net for missed ones). */
  cacheMs: number;
}

interface Entry {
  at: number;
  ttl: number;
  value: Promise<InjectionClassifier | undefined>;
}

/**
 * Each tenant's trained injection classifier: the prod version of its `guard` model, resolved
 * through the registry on first use and cached, its artifact loaded once per version. A tenant
 * without one, or any failure (registry down, artifact missing), gets undefined: the guard then
 * runs on its heuristics alone, and the failure is logged once until a load succeeds again.
 */
export class TenantClassifiers implements AliasCache {
  private readonly cache = new Map<string, Entry>();
  private readonly versions = new Map<string, Promise<InjectionClassifier>>();
  private readonly listeners: ((tenant: string | undefined) => void)[] = [];
  private registryDown = false;
  private readonly badArtifacts = new Set<string>();

  constructor(private readonly o: ClassifierOptions) {}

  /** The tenant's prod classifier, or undefined (heuristics only). Never rejects. */
  get(tenant: string): Promise<InjectionClassifier | undefined> {
    const hit = this.cache.get(tenant);
    if (hit && Date.now() - hit.at <= hit.ttl) return hit.value;
    const entry: Entry = { at: Date.now(), ttl: this.o.cacheMs, value: Promise.resolve(undefined) };
    entry.value = this.load(tenant).catch((err: unknown) => {
      entry.ttl = this.o.retryMs;
      this.warn(err);
      return undefined;
    });
    if (!hit && this.cache.size >= MAX_TENANTS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(tenant, entry);
    return entry.value;
  }

  /** Calls `fn` with a tenant whose classifier may have changed (undefined: any tenant's). */
  onChange(fn: (tenant: string | undefined) => void): void {
    this.listeners.push(fn);
  }

  /** The tenant's prod classifier may have changed: resolve it again on next use. */
  forget(tenant: string): void {
    this.cache.delete(tenant);
    for (const fn of this.listeners) fn(tenant);
  }

  /** Following (again) after a start or a reconnect: what was resolved before may be stale. */
  setFollowing(following: boolean): void {
    if (following) this.reset();
  }

  /** A change of a tenant's `guard` model (ModelEventFollower). */
  apply(c: AliasChange): void {
    if (c.event.model === GUARD_MODEL) this.forget(c.event.tenant);
  }

  /** Events may have been missed: resolve every tenant again on next use. */
  reset(): void {
    this.cache.clear();
    for (const fn of this.listeners) fn(undefined);
  }

  private async load(tenant: string): Promise<InjectionClassifier | undefined> {
    let version: string;
    let artifact: string | undefined;
    try {
      const r = await this.o.registry.resolveAlias(
        { tenant, model: GUARD_MODEL, alias: "prod" },
        { timeoutMs: this.o.resolveTimeoutMs },
      );
      version = r.version?.version ?? "";
      artifact = r.version?.lineage?.artifacts[0];
    } catch (err) {
      if (ConnectError.from(err).code === Code.NotFound) {
        this.registryUp();
        return undefined;
      }
      throw new RegistryUnavailableError(err);
    }
    this.registryUp();
    if (!version) return undefined;
    if (!artifact) throw new ClassifierLoadError(`${version} names no artifact`, version);
    let classifier = this.versions.get(artifact);
    if (!classifier) {
      classifier = this.read(artifact, version);
      if (this.versions.size >= MAX_VERSIONS)
        this.versions.delete(this.versions.keys().next().value!);
      this.versions.set(artifact, classifier);
      classifier.catch(() => this.versions.delete(artifact));
    }
    const c = await classifier;
    this.badArtifacts.delete(artifact);
    this.o.logger.debug({ tenant, version, artifact }, "guard classifier in use");
    return c;
  }

  private async read(artifact: string, version: string): Promise<InjectionClassifier> {
    try {
      const ref = parseModelRef(artifact);
      if (typeof ref === "string") throw new Error(ref);
      if (!ref.version) throw new Error("names no exact version");
      const a = await this.o.store().resolve(ref.name, ref.version);
      const path = join(a.dir, CLASSIFIER_FILE);
      const size = (await stat(path)).size;
      if (size > MAX_CLASSIFIER_BYTES) throw new Error(`${CLASSIFIER_FILE} is ${size} bytes`);
      const json = JSON.parse(await readFile(path, "utf8")) as LinearModelJson;
      return InjectionClassifier.fromJSON(json);
    } catch (err) {
      throw new ClassifierLoadError(
        `artifact ${artifact} of ${version}: ${(err as Error).message}`,
        artifact,
        { cause: err },
      );
    }
  }

  private registryUp(): void {
    if (this.registryDown) this.o.logger.info("registry answers again: guard classifiers resolve");
    this.registryDown = false;
  }

  private warn(err: unknown): void {
    if (err instanceof RegistryUnavailableError) {
      if (this.registryDown) return;
      this.registryDown = true;
      this.o.logger.warn(
        { err: err.message },
        "registry unavailable: tenants' guard classifiers unknown, heuristics only until it answers",
      );
    } else if (err instanceof ClassifierLoadError) {
      if (this.badArtifacts.has(err.what)) return;
      this.badArtifacts.add(err.what);
      this.o.logger.warn({ err: err.message }, "guard classifier not loaded: heuristics only");
    } else {
      this.o.logger.warn({ err: (err as Error).message }, "guard classifier not loaded");
    }
  }
}

/** ResolveAlias failed for a reason other than "no such model or alias". */
class RegistryUnavailableError extends Error {
  override readonly name = "RegistryUnavailableError";
  readonly code = "registry_unavailable";
  constructor(cause: unknown) {
    super(`registry: ${ConnectError.from(cause).message}`, { cause });
  }
}

/** A prod classifier could not be loaded (no artifact named, missing, damaged, or not one). */
class ClassifierLoadError extends Error {
  override readonly name = "ClassifierLoadError";
  readonly code = "classifier_load_failed";
  constructor(
    message: string,
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
