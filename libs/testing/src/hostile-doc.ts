import fc from "fast-check";

/**
 * What the pipeline must do with a generated event: store it (`good`), refuse it with a reason
 * that matches `reason` (`bad`), either of the two (`either`: the rules leave it open), or just
 * settle it one way or the other without crashing or stalling (`any`: random bytes).
 */
export type Verdict =
  | { kind: "good" }
  | { kind: "bad" | "either"; field: string; reason: RegExp }
  | { kind: "any" };

export interface HostileDoc {
  id: string;
  title: string;
  text: string;
  contentType: string;
  metadata: Record<string, string>;
}

/** A defect outside the document: subject tokens, header, envelope or raw body. */
export type EnvelopeDefect =
  | { at: "tenant" | "source" | "op"; value: string }
  | { at: "content-type"; value: string }
  | { at: "ce"; path: string[]; value?: unknown }
  | { at: "body"; kind: "truncated-json" | "invalid-utf8-json" | "truncated-pb" | "wire-type-pb" }
  | { at: "body"; kind: "random"; bytes: Uint8Array };

export interface HostileEvent {
  format: "protobuf" | "cloudevents";
  op: "upsert" | "delete";
  doc: HostileDoc;
  envelope?: EnvelopeDefect;
  verdict: Verdict;
  /** The one defect, in words (for failure reports). */
  label: string;
}

/** Limits the generators aim around; `maxTextBytes` is the service's configured body limit. */
export interface HostileOptions {
  maxTextBytes: number;
  /** Include random-byte bodies whose outcome cannot be predicted (verdict `any`). */
  chaos?: boolean;
}

/** True when the rules say the event must be accepted and stored. */
export function expectedGood(ev: { verdict: Verdict }): boolean {
  return ev.verdict.kind === "good";
}

/** A reason names `field` when the name stands as its own word (`id:`, `data.id`, `metadata["k"]`). */
export function names(field: string): RegExp {
  if (field === "content_type") return /content[_ -]?type/i;
  const f = field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^A-Za-z0-9_])${f}([^A-Za-z0-9_]|$)`);
}

const bad = (field: string, label: string, reason = names(field)) => ({
  verdict: { kind: "bad" as const, field, reason },
  label,
});
const either = (field: string, label: string, reason = names(field)) => ({
  verdict: { kind: "either" as const, field, reason },
  label,
});

// ---------------------------------------------------------------- strings

/** Valid everywhere, yet awkward: astral, right-to-left, zero-width, separators, wildcards. */
const AWKWARD = [
  ..."😀𝔘𠜎👩‍💻\u200b\u200c\u200d\u200e\u200f\u202e\u2066\u2069\ufeff\u061c\u2028\u2029\u00a0",
  ..."שמرح€.*> \\\"'<&",
];
const WHITESPACE_CONTROL = ["\t", "\n", "\r", "\f"];
/** C0/C1 controls and DEL other than tab, LF, CR and FF (NUL has its own defect). */
const OTHER_CONTROL = [..."\u0001\u0007\u0008\u000b\u001b\u001f\u007f\u0080\u0085\u009f"];

const unit = (extra: string[] = []) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.constantFrom(...AWKWARD, ...extra) },
  );

/** Printable ASCII mixed with awkward but valid characters; no control characters. */
export const cleanString = (maxLength = 40, minLength = 0) =>
  fc.string({ unit: unit(), minLength, maxLength });
/** As cleanString, plus tab, line feed, carriage return and form feed (allowed in titles and text). */
export const cleanText = (maxLength = 200, minLength = 0) =>
  fc.string({ unit: unit(WHITESPACE_CONTROL), minLength, maxLength });
/** A non-blank identifier (ids, metadata keys) that any rule must accept. */
export const cleanId = (maxLength = 60) =>
  cleanString(maxLength, 1).filter((s) => /[A-Za-z0-9]/.test(s));

const highSurrogate = fc.integer({ min: 0xd800, max: 0xdbff }).map((c) => String.fromCharCode(c));
const lowSurrogate = fc.integer({ min: 0xdc00, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** One character that no stored field may hold, with its name. */
const poison = fc.oneof(
  fc.constant({ ch: "\u0000", what: "NUL" }),
  highSurrogate.map((ch) => ({ ch, what: "lone high surrogate" })),
  lowSurrogate.map((ch) => ({ ch, what: "lone low surrogate" })),
);
const control = fc.constantFrom(...OTHER_CONTROL).map((ch) => ({ ch, what: "control character" }));
const whitespaceControl = fc
  .constantFrom(...WHITESPACE_CONTROL)
  .map((ch) => ({ ch, what: "line break or tab" }));

/** Inserts `ch` at a code point boundary (so a generated pair is never split). */
function insertAt(s: string, pos: number, ch: string): string {
  const cps = [...s];
  const i = pos % (cps.length + 1);
  return cps.slice(0, i).join("") + ch + cps.slice(i).join("");
}

/** `value` (from `base`) with one character from `defect` inserted somewhere. */
const withChar = (base: fc.Arbitrary<string>, defect: fc.Arbitrary<{ ch: string; what: string }>) =>
  fc
    .tuple(base, defect, fc.nat())
    .map(([s, d, pos]) => ({ value: insertAt(s, pos, d.ch), what: d.what }));

/** A string of exactly `bytes` UTF-8 bytes made of 1- and 3-byte characters. */
const ofBytes = (bytes: number) =>
  fc.nat({ max: Math.floor(bytes / 3) }).map((n) => "€".repeat(n) + "a".repeat(bytes - 3 * n));

// ---------------------------------------------------------------- documents

type Labelled = { value: string; verdict: Verdict; label: string };
type Body = Labelled & { contentType: string };
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const judged = (kind: "bad" | "either", field: string, label: string, reason?: RegExp) =>
  kind === "bad" ? bad(field, label, reason) : either(field, label, reason);
const good = (value: fc.Arbitrary<string>, label: string) =>
  value.map((v): Labelled => ({ value: v, verdict: { kind: "good" }, label }));
/** `base` with one character from `chars` inserted, judged as `kind` for `field`. */
const charDefect = (
  kind: "bad" | "either",
  field: string,
  base: fc.Arbitrary<string>,
  chars: fc.Arbitrary<{ ch: string; what: string }>,
) =>
  withChar(base, chars).map((d) => ({
    value: d.value,
    ...judged(kind, field, `${field} with ${d.what}`),
  }));
/** Values judged as `kind` for `field`, each labelled by `label(value)`. */
const valueDefect = <T>(
  kind: "bad" | "either",
  field: string,
  values: fc.Arbitrary<T>,
  make: (v: T) => { value: string; label: string; contentType?: string },
  reason?: RegExp,
) =>
  values.map((v) => {
    const m = make(v);
    return {
      value: m.value,
      contentType: m.contentType ?? "text/plain",
      ...judged(kind, field, m.label, reason),
    };
  });

function idArb(): fc.Arbitrary<Labelled> {
  return fc.oneof(
    w(12, good(cleanId(), "clean id")),
    w(1, good(ofBytes(512), "id of exactly 512 bytes")),
    w(2, charDefect("bad", "id", cleanId(), poison)),
    w(2, charDefect("bad", "id", cleanId(), fc.oneof(control, whitespaceControl))),
    w(
      1,
      valueDefect("bad", "id", fc.constantFrom("", " ", "\t "), (v) => ({
        value: v,
        label: "blank id",
      })),
    ),
    w(
      1,
      valueDefect(
        "bad",
        "id",
        fc.oneof(fc.integer({ min: 513, max: 2000 }), fc.constant(70_000)).chain(ofBytes),
        (v) => ({ value: v, label: `id of ${Buffer.byteLength(v)} bytes` }),
      ),
    ),
  );
}

function titleArb(): fc.Arbitrary<Labelled> {
  return fc.oneof(
    w(12, good(cleanText(120), "clean title")),
    w(2, charDefect("bad", "title", cleanText(60), poison)),
    w(1, charDefect("either", "title", cleanText(60), control)),
    w(
      1,
      valueDefect("either", "title", fc.integer({ min: 50_000, max: 150_000 }), (n) => ({
        value: "T ".repeat(n),
        label: `title of ${2 * n} bytes`,
      })),
    ),
  );
}

/** Bodies and their content types; a JSON body is kept valid JSON unless its defect is the JSON. */
function bodyArb(o: HostileOptions): fc.Arbitrary<Body> {
  const plain = fc.constantFrom("", "text/plain", "text/markdown", "text/html");
  const ok = (ct: fc.Arbitrary<string>, text: fc.Arbitrary<string>, label: string) =>
    fc
      .tuple(ct, text)
      .map(
        ([contentType, value]): Body => ({ contentType, value, verdict: { kind: "good" }, label }),
      );
  const inPlain = (kind: "bad" | "either", chars: fc.Arbitrary<{ ch: string; what: string }>) =>
    fc
      .tuple(plain, charDefect(kind, "text", cleanText(200), chars))
      .map(([contentType, d]) => ({ ...d, contentType }));
  const deep = (depth: number, key: string) => `{"${key}":`.repeat(depth) + "1" + "}".repeat(depth);
  const json = "application/json";
  return fc.oneof(
    w(10, ok(plain, cleanText(300), "clean text")),
    w(
      2,
      ok(
        plain,
        fc.integer({ min: 100, max: 1100 }).map((n) => "lorem ipsum dolor ".repeat(n)),
        "long text",
      ),
    ),
    w(2, ok(fc.constant(json), fc.json({ maxDepth: 4 }), "JSON document")),
    w(2, inPlain("bad", poison)),
    w(1, inPlain("either", control)),
    w(
      1,
      valueDefect(
        "bad",
        "text",
        fc.integer({ min: 1, max: 50_000 }),
        (n) => ({
          value: "x ".repeat(Math.ceil((o.maxTextBytes + n) / 2)),
          label: "text over the size limit",
        }),
        /text|size|bytes|limit/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "either",
        "text",
        fc.integer({ min: 4_000, max: Math.max(4_001, Math.floor(o.maxTextBytes / 5) - 200) }),
        (n) => ({ value: "word ".repeat(n), label: `text of ${5 * n} bytes` }),
        /text|chunk|limit|bytes/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "bad",
        "text",
        fc.integer({ min: 3_000, max: 20_000 }),
        (d) => ({ value: deep(d, "a"), contentType: json, label: `JSON nested ${d} deep` }),
        /text|depth|nest|json/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "either",
        "text",
        fc.integer({ min: 200, max: 300 }),
        (d) => ({
          value: deep(d, "k".repeat(200)),
          contentType: json,
          label: `JSON with long keys nested ${d} deep`,
        }),
        /text|depth|nest|json|chunk|limit/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "bad",
        "text",
        fc.constantFrom('{"a":', "[1,2", "{'a':1}", "nope"),
        (v) => ({ value: v, contentType: json, label: "invalid JSON document" }),
        /text|json/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "either",
        "text",
        fc.constantFrom('{"a":"x\\u0000y"}', '{"a":"\\ud800"}', '{"\\udc00":"b"}'),
        (v) => ({
          value: v,
          contentType: json,
          label: "JSON whose strings decode to NUL or lone surrogates",
        }),
        /text|json|NUL|surrogate/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "either",
        "text",
        fc.constantFrom("a &#0; b", "a &#xD800; b", "a &#x1; b", "<p>&#0;</p>"),
        (v) => ({
          value: v,
          contentType: "text/html",
          label: "HTML entity for NUL, a surrogate or a control",
        }),
        /text|NUL|surrogate|control/i,
      ),
    ),
    w(
      1,
      valueDefect(
        "bad",
        "content_type",
        fc.constantFrom("application/pdf", "image/png", "text/x-unknown"),
        (ct) => ({ value: "some text", contentType: ct, label: `unsupported content type ${ct}` }),
      ),
    ),
  );
}

type Meta = { value: Record<string, string>; verdict: Verdict; label: string };

function metadataArb(): fc.Arbitrary<Meta> {
  const clean = fc.dictionary(cleanId(30), cleanText(80), { maxKeys: 4 });
  /** Clean metadata plus one entry whose key or value (from `entry`) is judged `kind`. */
  const add = (kind: "bad" | "either", entry: fc.Arbitrary<[string, string, string]>) =>
    fc.tuple(clean, entry).map(
      ([m, [k, v, label]]): Meta => ({
        value: { ...m, [k]: v },
        ...judged(kind, "metadata", label),
      }),
    );
  const key = (chars: fc.Arbitrary<{ ch: string; what: string }>) =>
    fc
      .tuple(withChar(cleanId(20), chars), cleanText(20))
      .map(([d, v]): [string, string, string] => [d.value, v, `metadata key with ${d.what}`]);
  const value = (chars: fc.Arbitrary<{ ch: string; what: string }>) =>
    fc
      .tuple(cleanId(20), withChar(cleanText(40), chars))
      .map(([k, d]): [string, string, string] => [k, d.value, `metadata value with ${d.what}`]);
  return fc.oneof(
    w(
      12,
      clean.map((value): Meta => ({ value, verdict: { kind: "good" }, label: "clean metadata" })),
    ),
    w(2, add("bad", key(fc.oneof(poison, control, whitespaceControl)))),
    w(
      1,
      add(
        "bad",
        fc
          .integer({ min: 129, max: 400 })
          .chain(ofBytes)
          .map((k): [string, string, string] => [k, "v", "metadata key over 128 bytes"]),
      ),
    ),
    w(2, add("bad", value(poison))),
    w(1, add("either", value(control))),
    w(1, add("either", fc.constant<[string, string, string]>(["", "v", "empty metadata key"]))),
    w(
      1,
      add(
        "either",
        fc
          .integer({ min: 50_000, max: 200_000 })
          .map((n): [string, string, string] => ["big", "v".repeat(n), "huge metadata value"]),
      ),
    ),
  );
}

/** A document with at most one defect; the verdict and label say which. */
export function hostileDoc(
  o: HostileOptions,
): fc.Arbitrary<{ doc: HostileDoc; verdict: Verdict; label: string }> {
  return fc
    .record({
      id: idArb(),
      title: titleArb(),
      body: bodyArb(o),
      metadata: metadataArb(),
      pick: fc.noBias(fc.nat()),
    })
    .map(({ id, title, body, metadata, pick }) => {
      const parts = [id, title, body, metadata];
      const bads = parts.filter((p) => p.verdict.kind !== "good");
      // Half the documents are clean; the others keep one of their defects.
      const keep = bads.length > 0 && pick % 2 === 1 ? bads[(pick >> 1) % bads.length] : undefined;
      const pickOf = <T extends { verdict: Verdict }>(p: T, clean: T): T =>
        p.verdict.kind === "good" || (p as unknown) === keep ? p : clean;
      const i = pickOf(id, { value: `doc-${pick}`, verdict: { kind: "good" }, label: "" });
      const t = pickOf(title, { value: "Title", verdict: { kind: "good" }, label: "" });
      const b = pickOf(body, {
        value: "plain text",
        contentType: "text/plain",
        verdict: { kind: "good" },
        label: "",
      });
      const m = pickOf(metadata, { value: {}, verdict: { kind: "good" }, label: "" });
      return {
        doc: {
          id: i.value,
          title: t.value,
          text: b.value,
          contentType: b.contentType,
          metadata: m.value,
        },
        verdict: keep?.verdict ?? { kind: "good" },
        label: keep?.label ?? "good",
      };
    });
}
