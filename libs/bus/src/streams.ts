import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { STREAM_KEYS, type StreamKey, type Subjects } from "./subjects.js";

const DAY_MS = 24 * 3600 * 1000;

export interface StreamOptions {
  /** Replicas per stream: 1 on a laptop, 3 on a cluster. */
  replicas: number;
  /** How long the duplicate-detection window remembers message ids. */
  duplicateWindowMs: number;
}

/**
 * Every stream Tailor uses, declared in one place. DATA and CHUNK keep a week so a service can
 * catch up after an outage; EMBEDDING keeps everything so the index can be rebuilt by replay;
 * DLQ keeps a month for operators.
 */
export function streamConfigs(
  s: Subjects,
  o: StreamOptions,
): Record<StreamKey, Partial<StreamConfig> & { name: string }> {
  const base = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.duplicateWindowMs),
  };
  return {
    DATA: {
      ...base,
      name: s.stream("DATA"),
      subjects: [s.all("data")],
      max_age: nanos(7 * DAY_MS),
    },
    CHUNK: {
      ...base,
      name: s.stream("CHUNK"),
      subjects: [s.all("chunk")],
      max_age: nanos(7 * DAY_MS),
    },
    EMBEDDING: { ...base, name: s.stream("EMBEDDING"), subjects: [s.all("embedding")], max_age: 0 },
    DLQ: { ...base, name: s.stream("DLQ"), subjects: [s.all("dlq")], max_age: nanos(30 * DAY_MS) },
    // Registry news: retrieval and the gateway rebuild their alias view from the registry on
    // start, so a month of history is for audit, not for replay.
    MODEL: {
      ...base,
      name: s.stream("MODEL"),
      subjects: [s.all("model")],
      max_age: nanos(30 * DAY_MS),
    },
    TRAINING: {
      ...base,
      name: s.stream("TRAINING"),
      subjects: [s.all("training")],
      max_age: nanos(30 * DAY_MS),
    },
    EVAL: {
      ...base,
      name: s.stream("EVAL"),
      subjects: [s.all("eval")],
      max_age: nanos(30 * DAY_MS),
    },
    // Feedback is training data: kept until an operator says otherwise.
    FEEDBACK: { ...base, name: s.stream("FEEDBACK"), subjects: [s.all("feedback")], max_age: 0 },
    // Audit records of the guard: kept a year.
    GUARD: {
      ...base,
      name: s.stream("GUARD"),
      subjects: [s.all("guard")],
      max_age: nanos(365 * DAY_MS),
    },
    // What the gateway answered (redacted per policy): evaluation and training data, kept 90 days.
    INTERACTION: {
      ...base,
      name: s.stream("INTERACTION"),
      subjects: [s.all("interaction")],
      max_age: nanos(90 * DAY_MS),
    },
    LORA: {
      ...base,
      name: s.stream("LORA"),
      subjects: [s.all("lora")],
      max_age: nanos(30 * DAY_MS),
    },
  };
}

/**
 * Creates the streams, or updates the ones whose limits changed (idempotent; safe from every
 * service). A stream of our name that holds other subjects belongs to another deployment and is
 * never rewritten: that fails with a StreamConflictError.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  s: Subjects,
  o: StreamOptions,
): Promise<void> {
  for (const cfg of Object.values(streamConfigs(s, o))) {
    const name = cfg.name;
    let existing: StreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(name)).config;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!existing) {
      try {
        await jsm.streams.add(cfg);
        continue;
      } catch (addErr) {
        const msg = String((addErr as Error).message);
        if (/overlap/i.test(msg)) {
          throw new StreamConflictError(
            name,
            cfg.subjects ?? [],
            `its subjects [${(cfg.subjects ?? []).join(", ")}] overlap another stream's; choose another TAILOR_BUS_PREFIX`,
          );
        }
        // Another service created it between our info and add: check it as an existing one.
        if (!/already in use|already exists/i.test(msg)) throw addErr;
        existing = (await jsm.streams.info(name)).config;
      }
    }
    const theirs = existing.subjects ?? [];
    if (!sameSet(theirs, cfg.subjects ?? [])) {
      throw new StreamConflictError(
        name,
        theirs,
        `already exists with subjects [${theirs.join(", ")}] of another deployment (this one uses [${(cfg.subjects ?? []).join(", ")}]); choose another TAILOR_BUS_PREFIX`,
      );
    }
    const changed = changedLimits(existing, cfg);
    if (changed.length === 0) continue;
    try {
      await jsm.streams.update(name, cfg);
    } catch (err) {
      throw new Error(
        `stream ${name} differs from its declaration (${changed.join(", ")}) and could not be updated; a NATS user without stream-update permission needs an operator to apply it`,
        { cause: err },
      );
    }
  }
}

/** A stream of this deployment's name already serves other subjects (another deployment's). */
export class StreamConflictError extends Error {
  override readonly name = "StreamConflictError";
  readonly code = "stream_conflict";
  constructor(
    readonly stream: string,
    readonly subjects: string[],
    problem: string,
  ) {
    super(`stream ${stream} ${problem}`);
  }
}

const LIMITS = ["num_replicas", "duplicate_window", "max_age", "discard"] as const;

/** The limits we declare that the server's copy does not have; subjects are checked apart. */
function changedLimits(existing: StreamConfig, want: Partial<StreamConfig>): string[] {
  return LIMITS.filter((k) => want[k] !== undefined && existing[k] !== want[k]);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Deletes the streams of a prefix (test clean-up). */
export async function deleteStreams(jsm: JetStreamManager, s: Subjects): Promise<void> {
  for (const key of STREAM_KEYS) {
    try {
      await jsm.streams.delete(s.stream(key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export function isNotFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error)?.message ?? ""));
}
