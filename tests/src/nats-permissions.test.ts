import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Bus, type BusAuth, Events, publishDataEvent, type StreamKey } from "@tailor/bus";
import { reachable } from "@tailor/deploy-local";
import {
  ChunksDeletedSchema,
  EmbeddedChunkSchema,
  EmbeddingsReadySchema,
  SearchMode,
} from "@tailor/proto";
import { freePort, type Harness, ROOT, startHarness, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type ConsumerConfig = NonNullable<Parameters<Bus["jsm"]["consumers"]["add"]>[1]>;

const NATS_BIN = [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]
  .filter(Boolean)
  .map((d) => join(d, "nats-server"))
  .find((p) => existsSync(p));

/** The services the harness starts by default (the data path and the registry). */
const SERVICE_USERS = ["ingestion", "embedding", "retrieval", "model-server", "registry"] as const;
/** Users of services this suite does not start, whose permissions it still checks. */
const OTHER_USERS = ["trainer", "evaluator", "guard", "inference-gateway"] as const;
type User = (typeof SERVICE_USERS)[number] | (typeof OTHER_USERS)[number] | "admin";
/** The variable a service reads its own NATS credentials from, e.g. TAILOR_MODEL_SERVER_NATS_…. */
const varPrefix = (u: User) =>
  u === "admin" ? "TAILOR_ADMIN" : `TAILOR_${u.toUpperCase().replace("-", "_")}`;

/**
 * A nats-server of the suite's own under the committed deploy/nats/authorization.conf (the
 * cluster settings of cluster.conf need nats-server 2.10+ and three nodes, so they stay out).
 */
async function startNats(
  port: number,
  dir: string,
  passwords: Record<User, string>,
): Promise<ChildProcess> {
  await copyFile(join(ROOT, "deploy/nats/authorization.conf"), join(dir, "authorization.conf"));
  const conf = join(dir, "nats.conf");
  await writeFile(
    conf,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, "js")}" }\ninclude ./authorization.conf\n`,
  );
  const env = Object.fromEntries(
    Object.entries(passwords).map(([u, pw]) => [`${varPrefix(u as User)}_NATS_PASSWORD`, pw]),
  );
  const child = spawn(NATS_BIN ?? "nats-server", ["-c", conf], { stdio: "ignore", env });
  await waitFor(() => reachable("127.0.0.1", port, 200), {
    what: "nats-server up",
    timeoutMs: 15_000,
  });
  return child;
}

describe.skipIf(!NATS_BIN)(
  "bus security: per-service NATS users (own nats-server, real PostgreSQL, services)",
  () => {
    let h: Harness;
    let nats: ChildProcess;
    let dir: string;
    let url: string;
    // nats-server parses a variable's value as config: a leading letter keeps it a string
    // ("9e5f…" would be a number), as deploy/gen-secrets.sh does.
    const passwords = Object.fromEntries(
      [...SERVICE_USERS, ...OTHER_USERS, "admin"].map((u) => [
        u,
        `p${randomBytes(12).toString("hex")}`,
      ]),
    ) as Record<User, string>;
    const auth = (u: User): BusAuth => ({
      method: "user",
      user: u,
      pass: { reveal: () => passwords[u] },
    });
    const as: Partial<Record<User, Bus>> = {};
    const connectAs = async (u: User) => {
      as[u] ??= await Bus.connect({ url, name: `perm-${u}`, prefix: "", auth: auth(u) });
      return as[u];
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tailor-nats-perm-"));
      const port = await freePort();
      url = `nats://127.0.0.1:${port}`;
      nats = await startNats(port, dir, passwords);
      const serviceEnv: Record<string, string> = {
        // The model-server connects to NATS only for its artifact bucket.
        TAILOR_MODEL_SERVER_ARTIFACT_BUCKET: "tailor-models",
      };
      for (const u of SERVICE_USERS) {
        serviceEnv[`${varPrefix(u)}_NATS_USER`] = u;
        serviceEnv[`${varPrefix(u)}_NATS_PASSWORD`] = passwords[u];
      }
      // Prefix "": the permissions are the committed file's, subject for subject.
      h = await startHarness("natsperm", serviceEnv, {
        natsUrl: url,
        prefix: "",
        natsAuth: auth("admin"),
      });
    }, 300_000);
    afterAll(async () => {
      for (const b of Object.values(as)) await b?.close();
      await h?.close();
      nats?.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    });

    it("refuses a connection without credentials", async () => {
      const err = await Bus.connect({ url, name: "anonymous", prefix: "" }).then(
        async (b) => {
          await b.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(String(err)).toMatch(/authorization/i);
    });

    it("runs the pipeline with each service as its own user", async () => {
      await publishDataEvent(h.bus, "acme", "crm", "upsert", {
        id: "perm-1",
        text: "Freight contracts renew in spring; marker zqpermok1 identifies this one.",
      });
      await waitFor(
        async () =>
          (
            await h.retrieval.search({
              tenant: "acme",
              query: "zqpermok1",
              k: 3,
              mode: SearchMode.KEYWORD,
            })
          ).hits.length === 1,
        { what: "document searchable", timeoutMs: 120_000 },
      );
    }, 180_000);

    const messages = async (key: StreamKey) =>
      (await h.bus.jsm.streams.info(h.bus.subjects.stream(key))).state.messages;
    const event = () =>
      create(ChunksDeletedSchema, { tenant: "acme", documentId: "perm-x", chunkIds: ["perm-x-0"] });
    /** Publishes as `u`; "ok" when the stream acknowledged it, else the error's message. */
    const publishAs = async (u: User, subject: string) => {
      const b = await connectAs(u);
      try {
        await b.js.publish(subject, new Uint8Array([1]), {
          msgID: randomUUID(),
          timeout: 5000,
        });
        return "ok";
      } catch (err) {
        return String((err as Error).message);
      }
    };

    it("lets each service publish only its own subjects", async () => {
      const cases: [User, string, StreamKey, boolean][] = [
        ["ingestion", "embedding.acme.ready", "EMBEDDING", false],
        ["ingestion", "data.acme.crm.upsert", "DATA", false],
        ["embedding", "chunk.acme.upserted", "CHUNK", false],
        ["retrieval", "embedding.acme.deleted", "EMBEDDING", false],
        ["model-server", "chunk.acme.deleted", "CHUNK", false],
        ["registry", "training.acme.requested", "TRAINING", false],
        ["retrieval", "model.acme.promoted", "MODEL", false],
        ["evaluator", "model.acme.promoted", "MODEL", false],
        ["trainer", "eval.acme.completed", "EVAL", false],
        ["trainer", "feedback.acme.received", "FEEDBACK", false],
        // Only LoRA workers report a job's status; the trainer that submitted it cannot forge one.
        ["trainer", "lora.acme.status", "LORA", false],
        ["guard", "chunk.acme.upserted", "CHUNK", false],
        ["ingestion", "guard.acme.violation", "GUARD", false],
        ["inference-gateway", "model.acme.promoted", "MODEL", false],
        ["inference-gateway", "chunk.acme.upserted", "CHUNK", false],
        ["inference-gateway", "training.acme.requested", "TRAINING", false],
        ["retrieval", "interaction.acme.logged", "INTERACTION", false],
        ["guard", "interaction.acme.logged", "INTERACTION", false],
      ];
      for (const [u, subject, key] of cases) {
        const before = await messages(key);
        const r = await publishAs(u, subject);
        expect(r, `${u} → ${subject}`).toMatch(/permission/i);
        expect(await messages(key), `${key} after ${u} → ${subject}`).toBe(before);
      }
      // The allowed side, so the refusals above are about the subjects and not the users.
      const chunkBefore = await messages("CHUNK");
      const ingestion = await connectAs("ingestion");
      await ingestion.publish(
        ingestion.subjects.chunk("acme", "deleted"),
        Events.chunksDeleted,
        event(),
        {
          id: randomUUID(),
          source: "/test/permissions",
        },
      );
      expect(await messages("CHUNK")).toBe(chunkBefore + 1);
      for (const [u, subject, key] of [
        ["registry", "model.acme.promoted", "MODEL"],
        ["trainer", "model.acme.trained", "MODEL"],
        ["trainer", "lora.acme.submitted", "LORA"],
        ["evaluator", "training.acme.requested", "TRAINING"],
        ["evaluator", "eval.acme.regressed", "EVAL"],
        ["guard", "guard.acme.violation", "GUARD"],
        ["inference-gateway", "interaction.acme.logged", "INTERACTION"],
        ["inference-gateway", "feedback.acme.received", "FEEDBACK"],
        ["inference-gateway", "guard.acme.violation", "GUARD"],
      ] as const) {
        const before = await messages(key);
        expect(await publishAs(u, subject), `${u} → ${subject}`).toBe("ok");
        expect(await messages(key)).toBe(before + 1);
      }
    });

    it("lets retrieval follow the MODEL stream with an ordered consumer", async () => {
      const registry = await connectAs("registry");
      await registry.js.publish("model.acme.rejected", new Uint8Array([1]), {
        msgID: randomUUID(),
      });
      const retrieval = await connectAs("retrieval");
      const ordered = await retrieval.js.consumers.get(retrieval.subjects.stream("MODEL"));
      const m = await ordered.next({ expires: 5000 });
      expect(m?.subject).toMatch(/^model\.acme\./);
    });

    it("keeps the evaluator's and trainer's durables from other services", async () => {
      const retrieval = await connectAs("retrieval");
      await h.bus.jsm.consumers.add(h.bus.subjects.stream("TRAINING"), {
        durable_name: "trainer",
        // AckPolicy.Explicit, without a dependency on @nats-io/jetstream for one constant.
        ack_policy: "explicit" as ConsumerConfig["ack_policy"],
      });
      const err = await retrieval.jsm.consumers
        .delete(h.bus.subjects.stream("TRAINING"), "trainer")
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(String(err)).toMatch(/permission/i);
    });

    it("lets no service delete a stream", async () => {
      const ingestion = await connectAs("ingestion");
      const err = await ingestion.jsm.streams.delete(h.bus.subjects.stream("EMBEDDING")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(err)).toMatch(/permission/i);
      expect((await h.bus.jsm.streams.info(h.bus.subjects.stream("EMBEDDING"))).config.name).toBe(
        "EMBEDDING",
      );
    });

    it("keeps the interaction records from purges, even by the gateway that writes them", async () => {
      expect(await publishAs("inference-gateway", "interaction.acme.logged")).toBe("ok");
      const before = await messages("INTERACTION");
      const gateway = await connectAs("inference-gateway");
      const err = await gateway.jsm.streams.purge(h.bus.subjects.stream("INTERACTION")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(err)).toMatch(/permission/i);
      expect(await messages("INTERACTION")).toBe(before);
    });

    it("lets ingestion read a claim-checked body", async () => {
      const body = new TextEncoder().encode("claim-checked body zqpermclaim");
      const ref = await (await h.bus.claimStore()).put(body);
      const read = await (await (await connectAs("ingestion")).claimStore()).get(ref);
      expect(new TextDecoder().decode(read)).toBe("claim-checked body zqpermclaim");
    });

    it("dead-letters an embedding event whose payload names another tenant than its subject", async () => {
      const id = `perm-tenant-${randomUUID()}`;
      const ev = create(EmbeddingsReadySchema, {
        tenant: "evil",
        model: "glove",
        modelVersion: "v-evil",
        dimensions: 2,
        chunks: [
          create(EmbeddedChunkSchema, {
            chunkId: "evil-c0",
            documentId: "evil-d",
            source: "crm",
            text: "smuggled zqpermevil",
            revision: 1n,
          }),
        ],
        vectors: new Uint8Array(8),
      });
      await h.bus.publish(h.bus.subjects.embedding("acme", "ready"), Events.embeddingsReady, ev, {
        id,
        source: "/test/permissions",
      });
      const dlq = await h.bus.js.consumers.get(h.bus.subjects.stream("DLQ"));
      let reason: string | undefined;
      await waitFor(
        async () => {
          const m = await dlq.next({ expires: 1000 });
          if (m?.headers?.get("ce-id") === id) reason = m.headers.get("tailor-dlq-reason");
          return reason !== undefined;
        },
        { what: "the mismatched event in the DLQ", timeoutMs: 60_000 },
      );
      expect(reason).toMatch(/tenant "evil" of the payload is not the subject's tenant "acme"/);
      for (const tenant of ["acme", "evil"]) {
        const r = await h.retrieval.search({
          tenant,
          query: "zqpermevil",
          k: 3,
          mode: SearchMode.KEYWORD,
        });
        expect(r.hits, tenant).toHaveLength(0);
      }
    });
  },
);
