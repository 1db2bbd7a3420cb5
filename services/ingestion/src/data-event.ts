import {
  type ClaimStore,
  isValidToken,
  type JsMsg,
  PoisonMessageError,
  readAttributes,
  type Subjects,
} from "@tailor/bus";
import { z } from "@tailor/config";
import { type DataEvent, DataEventSchema, type ObjectRef } from "@tailor/proto";
import { fromBinaryUtf8, isFieldError } from "@tailor/service";
import { checkDocument, checkId, type DocumentLimits } from "./document-rules.js";
import type { DocumentInputData } from "./document-store.js";

/** A validated data event, ready for the document store. */
export type DataCommand =
  | ({ op: "upsert" } & DocumentInputData)
  | { op: "delete"; tenant: string; source: string; id: string };

const objectRef = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  sha256: z.string().optional(),
});

/** CloudEvents 1.0 structured-mode envelope with Tailor's data payload. */
const cloudEvent = z.object({
  specversion: z.literal("1.0"),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  datacontenttype: z.string().optional(),
  data: z.object({
    id: z.string({ error: "is required" }).min(1, "is required"),
    title: z.string().optional().default(""),
    text: z.string().optional().default(""),
    content_type: z.string().optional().default(""),
    metadata: z.record(z.string(), z.string()).optional().default({}),
    text_ref: objectRef.optional(),
  }),
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Turns a message from `data.<tenant>.<source>.<op>` into a command. Anything malformed is a
 * PoisonMessageError whose message names the field, so the dead letter says what to fix.
 */
export async function decodeDataEvent(
  msg: JsMsg,
  subjects: Subjects,
  o: { maxTextBytes: number; limits: DocumentLimits; claims: () => Promise<ClaimStore> },
): Promise<DataCommand> {
  const parsed = subjects.parseData(msg.subject);
  if ("error" in parsed) throw new PoisonMessageError(parsed.error);
  const { tenant, source, op } = parsed;
  if (op !== "upsert" && op !== "delete")
    throw new PoisonMessageError(`unknown op ${JSON.stringify(op)}: expected upsert or delete`);
  if (!isValidToken(tenant) || !isValidToken(source))
    throw new PoisonMessageError("tenant and source must be [A-Za-z0-9_-]{1,128}");

  const contentType = (readAttributes(msg.headers).contentType ?? "").toLowerCase();
  const looksJson = msg.data.length > 0 && msg.data[0] === 0x7b; // '{'
  let id: string;
  let title = "";
  let text = "";
  let docType = "";
  let metadata: Record<string, string> = {};
  let ref: { bucket: string; name: string; sha256?: string; size?: number } | undefined;

  if (
    contentType.startsWith("application/cloudevents+json") ||
    contentType.startsWith("application/json") ||
    (!contentType && looksJson)
  ) {
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(msg.data));
    } catch (err) {
      // Not the parser's message: it quotes a snippet of the body.
      const what = err instanceof SyntaxError ? "is not valid JSON" : "is not valid UTF-8";
      throw new PoisonMessageError(`not a CloudEvents JSON document: the body ${what}`);
    }
    const ce = cloudEvent.safeParse(json);
    if (!ce.success) {
      const first = ce.error.issues[0]!;
      throw new PoisonMessageError(
        `invalid CloudEvent: ${first.path.join(".") || "(root)"} ${first.message}`,
      );
    }
    ({ id, title, text, metadata } = ce.data.data);
    docType = ce.data.data.content_type;
    ref = ce.data.data.text_ref;
  } else if (
    contentType === "" ||
    contentType.startsWith("application/protobuf") ||
    contentType.startsWith("application/x-protobuf")
  ) {
    let ev: DataEvent;
    try {
      ev = fromBinaryUtf8(DataEventSchema, msg.data);
    } catch (err) {
      throw new PoisonMessageError(
        isFieldError(err)
          ? `invalid data event: ${err.message}`
          : `not a valid tailor.events.v1.DataEvent: ${(err as Error).message}`,
      );
    }
    ({ id, title, text, metadata } = ev);
    docType = ev.contentType;
    ref = ev.textRef ? toRef(ev.textRef) : undefined;
  } else {
    throw new PoisonMessageError(`unsupported content-type ${contentType}`);
  }

  if (op === "delete") {
    asPoison(() => checkId("id", id));
    return { op, tenant, source, id };
  }
  const limits = { ...o.limits, maxTextBytes: o.maxTextBytes };
  // Checked before the claim-check read too, so a bad event costs no download.
  asPoison(() => checkDocument({ id, title, text: "", contentType: docType, metadata }, limits));

  if (ref) {
    if (ref.size !== undefined && ref.size > o.maxTextBytes) throw tooBig(ref.size, o.maxTextBytes);
    // Read as a stream and stopped at min(declared size, maxTextBytes): never downloaded whole.
    const bytes = await (await o.claims()).get(
      { ...ref, size: BigInt(ref.size ?? 0), sha256: ref.sha256 ?? "" } as ObjectRef,
      { maxBytes: o.maxTextBytes },
    );
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new PoisonMessageError("text_ref content is not valid UTF-8");
    }
  }
  const doc = { id, title, text, contentType: docType, metadata };
  asPoison(() => checkDocument(doc, limits));
  return { op, tenant, source, ...doc };
}

/** A field that breaks its rule makes the event poison; the reason ends `<field>: <problem>`. */
function asPoison(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (isFieldError(err))
      throw new PoisonMessageError(`invalid data event: ${err.message}`, { cause: err });
    throw err;
  }
}

function tooBig(size: number, limit: number): PoisonMessageError {
  return new PoisonMessageError(
    `invalid data event: text: is ${size} bytes, over the configured limit of ${limit}`,
  );
}

function toRef(r: ObjectRef): { bucket: string; name: string; sha256: string; size: number } {
  return { bucket: r.bucket, name: r.name, sha256: r.sha256, size: Number(r.size) };
}
