import { Events } from "@tailor/bus";
import fc from "fast-check";
import {
  type EnvelopeDefect,
  type HostileDoc,
  type HostileEvent,
  type HostileOptions,
  hostileDoc,
  names,
  type Verdict,
} from "./hostile-doc.js";

export * from "./hostile-doc.js";
export * from "./hostile-rpc.js";

const ENVELOPE =
  /DataEvent|protobuf|EOF|truncat|decode|wire|tag|JSON|CloudEvent|parse|body|Unexpected|Unterminated/i;

const envBad = (envelope: EnvelopeDefect, field: string, label: string, reason = names(field)) => ({
  envelope,
  verdict: { kind: "bad" as const, field, reason } satisfies Verdict,
  label,
});

/** Subject tokens NATS carries but Tailor refuses (wildcards and spaces cannot be published at all). */
const badToken = fc.oneof(
  fc.constantFrom("a@b", "a+b", "a%b", "é", "a#b", "a:b", "a~b", "a/b", "a,b", "(a)"),
  fc.integer({ min: 129, max: 200 }).map((n) => "t".repeat(n)),
);

function envelopeArb(o: HostileOptions): fc.Arbitrary<Omit<HostileEvent, "doc" | "op" | "format">> {
  type Env = Omit<HostileEvent, "doc" | "op" | "format">;
  const w = (weight: number, arbitrary: fc.Arbitrary<Env>) => ({ weight, arbitrary });
  const arbs = [
    w(
      1,
      badToken.map((value) =>
        envBad({ at: "tenant", value }, "tenant", `tenant token ${value.slice(0, 20)}`),
      ),
    ),
    w(
      1,
      badToken.map((value) =>
        envBad({ at: "source", value }, "source", `source token ${value.slice(0, 20)}`),
      ),
    ),
    // A dot adds a subject token: the subject no longer has the data.<tenant>.<source>.<op> shape.
    w(
      1,
      fc.constant(
        envBad({ at: "tenant", value: "a.b" }, "subject", "tenant with a dot", /subject|tenant/i),
      ),
    ),
    w(
      1,
      fc
        .constantFrom("frobnicate", "UPSERT", "upsert2")
        .map((value) =>
          envBad({ at: "op", value }, "op", `op ${value}`, /\bop\b|operation|upsert/i),
        ),
    ),
    w(
      1,
      fc
        .constantFrom("application/xml", "text/plain", "application/octet-stream")
        .map((value) =>
          envBad(
            { at: "content-type", value },
            "content-type",
            `content-type header ${value}`,
            /content[- ]?type/i,
          ),
        ),
    ),
    w(
      4,
      fc
        .constantFrom<[string[], unknown, string]>(
          [["specversion"], undefined, "specversion"],
          [["specversion"], "0.3", "specversion"],
          [["specversion"], 1, "specversion"],
          [["source"], undefined, "source"],
          [["type"], undefined, "type"],
          [["data"], undefined, "data"],
          [["data"], "text", "data"],
          [["data"], null, "data"],
          [["data", "id"], 42, "id"],
          [["data", "id"], null, "id"],
          [["data", "title"], 7, "title"],
          [["data", "text"], ["a"], "text"],
          [["data", "metadata"], ["a"], "metadata"],
          [["data", "metadata"], { k: 1 }, "metadata"],
          [["data", "metadata"], { k: null }, "metadata"],
          [["data", "content_type"], 3, "content_type"],
        )
        .map(([path, value, field]) =>
          envBad(
            { at: "ce", path, value },
            field,
            `CloudEvent ${path.join(".")} = ${JSON.stringify(value)}`,
          ),
        ),
    ),
    w(
      2,
      fc
        .constantFrom(
          "truncated-json",
          "invalid-utf8-json",
          "truncated-pb",
          "wire-type-pb" as const,
        )
        .map((kind) =>
          envBad(
            { at: "body", kind },
            "body",
            `body ${kind}`,
            kind === "invalid-utf8-json" ? /UTF-?8|encod/i : ENVELOPE,
          ),
        ),
    ),
  ];
  if (o.chaos)
    arbs.push(
      w(
        1,
        fc.uint8Array({ maxLength: 200 }).map((bytes) => ({
          envelope: { at: "body", kind: "random", bytes },
          verdict: { kind: "any" },
          label: "random bytes",
        })),
      ),
    );
  return fc.oneof(...arbs);
}

/**
 * A data event as an enterprise system might publish it: mostly clean, else with exactly one
 * defect in one document field or in the envelope (subject, header, CloudEvent or body bytes).
 */
export function hostileEvent(o: HostileOptions): fc.Arbitrary<HostileEvent> {
  const format = fc.constantFrom<HostileEvent["format"]>("protobuf", "cloudevents");
  return fc
    .tuple(hostileDoc(o), format, fc.noBias(fc.nat({ max: 99 })), envelopeArb(o))
    .map(([d, fmt, roll, env]): HostileEvent => {
      // About one in eight events carries its defect in the envelope; its document is then clean.
      if (roll < 12) {
        const doc = {
          id: `env-${roll}`,
          title: "Envelope case",
          text: "plain text",
          contentType: "text/plain",
          metadata: {},
        };
        return { format: formatFor(env.envelope, fmt), op: "upsert", doc, ...env };
      }
      // A few deletes: only the id matters, so only an id defect is kept.
      if (roll < 17) {
        const idBad = d.verdict.kind === "bad" && d.verdict.field === "id";
        return {
          format: fmt,
          op: "delete",
          doc: { ...d.doc, title: "", text: "", contentType: "", metadata: {} },
          verdict: idBad ? d.verdict : { kind: "good" },
          label: idBad ? `delete: ${d.label}` : "delete",
        };
      }
      return { format: fmt, op: "upsert", ...d };
    });
}

/** Envelope defects that only exist in one format force that format. */
function formatFor(
  e: EnvelopeDefect | undefined,
  fallback: HostileEvent["format"],
): HostileEvent["format"] {
  if (e?.at === "ce") return "cloudevents";
  if (e?.at !== "body") return fallback;
  if (e.kind === "truncated-json" || e.kind === "invalid-utf8-json") return "cloudevents";
  if (e.kind === "truncated-pb" || e.kind === "wire-type-pb") return "protobuf";
  return fallback;
}

/** A unique word per document, so a keyword search finds exactly that document. */
export function markText(text: string, contentType: string, marker: string): string {
  if (contentType === "application/json") return `{"marker":"${marker}","doc":${text}}`;
  return `${marker} ${text}`;
}

export interface WireContext {
  /** Bus prefix ("" for none). */
  prefix: string;
  tenant: string;
  source: string;
  eventId: string;
  /** Put in front of the text (upserts without an envelope defect only). */
  marker?: string;
}

export interface WireEvent {
  subject: string;
  /** Value of the content-type header. */
  contentType: string;
  type: string;
  body: Uint8Array;
  /** What must be stored when the verdict is good. */
  stored: HostileDoc & { tenant: string; source: string };
}

/** Encodes a generated event the way it goes on the bus. */
export function toWire(ev: HostileEvent, c: WireContext): WireEvent {
  const env = ev.envelope;
  const tenant = env?.at === "tenant" ? env.value : c.tenant;
  const source = env?.at === "source" ? env.value : c.source;
  const op = env?.at === "op" ? env.value : ev.op;
  const marked = c.marker && ev.op === "upsert" && !env;
  const doc = marked
    ? { ...ev.doc, text: markText(ev.doc.text, ev.doc.contentType, c.marker as string) }
    : ev.doc;
  const type = ev.op === "upsert" ? Events.dataUpsert.type : Events.dataDelete.type;
  let body: Uint8Array;
  let contentType: string;
  if (ev.format === "cloudevents") {
    contentType = "application/cloudevents+json";
    const ce: Record<string, unknown> = {
      specversion: "1.0",
      id: c.eventId,
      source: `/systems/${c.source}`,
      type,
      datacontenttype: "application/json",
      tailorfuzz: "extension attributes are allowed",
      data: {
        id: doc.id,
        title: doc.title,
        text: doc.text,
        content_type: doc.contentType,
        metadata: doc.metadata,
      },
    };
    if (env?.at === "ce") setPath(ce, env.path, env.value);
    if (env?.at === "body" && env.kind === "invalid-utf8-json")
      (ce["data"] as Record<string, unknown>)["title"] = "@@BAD@@";
    let json = Buffer.from(JSON.stringify(ce), "utf8");
    if (env?.at === "body" && env.kind === "truncated-json")
      json = json.subarray(0, Math.floor(json.length / 2));
    if (env?.at === "body" && env.kind === "invalid-utf8-json") {
      const at = json.indexOf("@@BAD@@");
      json = Buffer.concat([
        json.subarray(0, at),
        Buffer.from([0x61, 0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
        json.subarray(at + 7),
      ]);
    }
    body = json;
  } else {
    contentType = "application/protobuf";
    const pb = encodeDataEvent(doc);
    if (env?.at === "body" && env.kind === "truncated-pb")
      body = Buffer.concat([pb, Buffer.from([0x12, 0x05, 0x61, 0x62])]);
    else if (env?.at === "body" && env.kind === "wire-type-pb")
      body = Buffer.concat([pb, Buffer.from([0x0f])]);
    else body = pb;
  }
  if (env?.at === "body" && env.kind === "random") body = env.bytes;
  if (env?.at === "content-type") contentType = env.value;
  const subject = `${c.prefix ? `${c.prefix}.` : ""}data.${tenant}.${source}.${op}`;
  return {
    subject,
    contentType,
    type,
    body,
    stored: { ...doc, tenant: c.tenant, source: c.source },
  };
}

function setPath(o: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = o;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/**
 * `tailor.events.v1.DataEvent` written by hand, because a generated encoder would replace a lone
 * surrogate with U+FFFD: here it becomes the 3-byte sequence UTF-8 forbids, as a careless
 * producer would send it.
 */
export function encodeDataEvent(d: HostileDoc): Uint8Array {
  const out: number[] = [];
  const field = (no: number, bytes: Uint8Array | number[]) => {
    out.push((no << 3) | 2, ...varint(bytes.length));
    for (const b of bytes) out.push(b);
  };
  const str = (no: number, s: string) => {
    if (s !== "") field(no, wtf8(s));
  };
  str(1, d.id);
  str(2, d.title);
  str(3, d.text);
  str(4, d.contentType);
  for (const [k, v] of Object.entries(d.metadata)) {
    const entry: number[] = [];
    for (const [no, s] of [
      [1, k],
      [2, v],
    ] as const) {
      const b = wtf8(s);
      entry.push((no << 3) | 2, ...varint(b.length));
      for (const x of b) entry.push(x);
    }
    field(5, entry);
  }
  return Uint8Array.from(out);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** UTF-8, except that a lone surrogate is written as its own (invalid) 3-byte sequence. */
function wtf8(s: string): Uint8Array {
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const m of s.matchAll(LONE)) {
    const c = m[0].charCodeAt(0);
    parts.push(
      Buffer.from(s.slice(last, m.index), "utf8"),
      Uint8Array.of(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)),
    );
    last = m.index + 1;
  }
  parts.push(Buffer.from(s.slice(last), "utf8"));
  return Buffer.concat(parts);
}
