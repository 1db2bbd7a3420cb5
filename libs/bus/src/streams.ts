import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { StreamKey, Subjects } from "./subjects.js";

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
  };
}

/** Creates the streams, or updates them when they exist (idempotent; safe from every service). */
export async function ensureStreams(
  jsm: JetStreamManager,
  s: Subjects,
  o: StreamOptions,
): Promise<void> {
  for (const cfg of Object.values(streamConfigs(s, o))) {
    const name = cfg.name;
    try {
      await jsm.streams.info(name);
      await jsm.streams.update(name, cfg);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add(cfg);
      } catch (addErr) {
        // Another service created it between our info and add.
        if (!/already in use|already exists/i.test(String((addErr as Error).message))) throw addErr;
      }
    }
  }
}

/** Deletes the streams of a prefix (test clean-up). */
export async function deleteStreams(jsm: JetStreamManager, s: Subjects): Promise<void> {
  for (const key of ["DATA", "CHUNK", "EMBEDDING", "DLQ"] as const) {
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
