import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { findRepoRoot, percentile } from "@tailor/eval";
import {
  type Counts,
  createGuard,
  detectPii,
  InjectionClassifier,
  loadGazetteer,
  prf,
  readInjectionCorpus,
  type Span,
  scoreInjection,
  segments,
  spanCounts,
  splitInjectionCorpus,
  tokenCounts,
} from "../../libs/guard/src/index.js";

/**
 * Guard quality and speed. PII: token-level (presidio-research style) and exact-span precision,
 * recall and F1 on shared/data/pii/generated_small.json, all 100 sentences and the even/odd
 * halves (even = "dev": the only half whose errors were inspected while writing the rules; odd
 * = "test"). Injection: BIPIA attacks planted in BIPIA e-mails vs the clean e-mails and
 * questions, with the classifier trained on a seeded split (libs/guard splitInjectionCorpus)
 * and reported on the held-out part.
 */
const emit = (metric: string, value: number, unit = "score") =>
  console.log(JSON.stringify({ bench: "guard", metric, value: Number(value.toFixed(4)), unit }));

const DATA = resolve(
  process.env["TAILOR_GUARD_DATA_DIR"] ?? join(findRepoRoot(), "../shared/data"),
);

/** Dataset label -> ours; labels mapped to null are not covered and left out of scoring. */
const LABELS: Record<string, string | null> = {
  PERSON: "PERSON",
  ADDRESS: "ADDRESS",
  LOCATION: "LOCATION",
  PHONE_NUMBER: "PHONE",
  CREDIT_CARD: "CREDIT_CARD",
  ORGANIZATION: "ORGANIZATION",
  DATE_TIME: "DATE",
  DOMAIN_NAME: "URL",
  US_SSN: "US_SSN",
  IP_ADDRESS: "IP_ADDRESS",
  EMAIL_ADDRESS: "EMAIL",
  TITLE: null,
  US_DRIVER_LICENSE: null,
};
const IGNORED = "IGNORED";

interface PiiRecord {
  full_text: string;
  spans: { entity_type: string; start_position: number; end_position: number }[];
}

/** The dataset counts offsets in code points (Python); ours are UTF-16 code units. */
function toUtf16(text: string): (cp: number) => number {
  const map: number[] = [];
  let u = 0;
  for (const ch of text) {
    map.push(u);
    u += ch.length;
  }
  map.push(u);
  return (cp) => map[Math.min(cp, map.length - 1)]!;
}

async function piiBench(): Promise<void> {
  const gaz = await loadGazetteer();
  const records = JSON.parse(
    readFileSync(join(DATA, "pii/generated_small.json"), "utf8"),
  ) as PiiRecord[];
  const unknown = new Set<string>();
  const halves = { all: new Map<string, Counts>(), dev: new Map(), test: new Map() };
  const exact = { all: zero(), dev: zero(), test: zero() };
  records.forEach((r, i) => {
    const at = toUtf16(r.full_text);
    const gold: Span[] = r.spans.map((s) => {
      const mapped = LABELS[s.entity_type];
      if (mapped === undefined) unknown.add(s.entity_type);
      return { type: mapped ?? IGNORED, start: at(s.start_position), end: at(s.end_position) };
    });
    const pred = detectPii(r.full_text, gaz);
    const half = i % 2 === 0 ? "dev" : "test";
    for (const h of ["all", half] as const) {
      tokenCounts(r.full_text, gold, pred, new Set([IGNORED]), halves[h]);
      const covered = gold.filter((g) => g.type !== IGNORED);
      spanCounts(covered, pred, exact[h]);
    }
  });
  if (unknown.size > 0) console.error(`guard bench: unmapped PII labels ${[...unknown].join(",")}`);
  for (const [type, c] of [...halves.all].sort()) {
    if (type === "ANY") continue;
    const m = prf(c);
    emit(`pii_${type.toLowerCase()}_precision`, m.precision);
    emit(`pii_${type.toLowerCase()}_recall`, m.recall);
    emit(`pii_${type.toLowerCase()}_f1`, m.f1);
  }
  for (const h of ["all", "dev", "test"] as const) {
    const micro = zero();
    for (const [type, c] of halves[h]) {
      if (type === "ANY") continue;
      micro.tp += c.tp;
      micro.fp += c.fp;
      micro.fn += c.fn;
    }
    const typed = prf(micro);
    const any = prf(halves[h].get("ANY") ?? zero());
    const spans = prf(exact[h]);
    const tag = h === "all" ? "" : `_${h}_half`;
    emit(`pii_overall${tag}_token_precision`, typed.precision);
    emit(`pii_overall${tag}_token_recall`, typed.recall);
    emit(`pii_overall${tag}_token_f1`, typed.f1);
    emit(`pii_overall${tag}_any_pii_token_f1`, any.f1);
    emit(`pii_overall${tag}_exact_span_f1`, spans.f1);
  }
}

function zero(): Counts {
  return { tp: 0, fp: 0, fn: 0 };
}

async function injectionBench(): Promise<InjectionClassifier> {
  const split = splitInjectionCorpus(await readInjectionCorpus(join(DATA, "injection")), 7);
  const clf = InjectionClassifier.train(split.train, { seed: 7 });
  const positives = split.positives.map((p) => ({ family: p.family, text: p.text }));
  const negIndirect = split.negatives.filter((n) => n.mode === "indirect").map((n) => n.text);
  const negDirect = split.negatives.filter((n) => n.mode === "direct").map((n) => n.text);
  const rate = (xs: boolean[]) => xs.filter(Boolean).length / Math.max(1, xs.length);
  for (const [name, classifier] of [
    ["heuristic", undefined],
    ["combined", clf],
  ] as const) {
    const hit = (text: string, mode: "direct" | "indirect") =>
      scoreInjection(text, { mode, classifier }).detected;
    emit(`injection_${name}_indirect_recall`, rate(positives.map((p) => hit(p.text, "indirect"))));
    for (const family of ["text", "code"]) {
      const fam = positives.filter((p) => p.family === family);
      emit(
        `injection_${name}_indirect_recall_${family}_attacks`,
        rate(fam.map((p) => hit(p.text, "indirect"))),
      );
    }
    emit(`injection_${name}_fpr_clean_emails`, rate(negIndirect.map((t) => hit(t, "indirect"))));
    emit(`injection_${name}_fpr_questions`, rate(negDirect.map((t) => hit(t, "direct"))));
  }
  const clfOnly = (t: string, mode: "direct" | "indirect") =>
    Math.max(clf.score(t), ...(mode === "indirect" ? segments(t).map((s) => clf.score(s)) : [0])) >=
    0.5;
  emit(
    "injection_classifier_indirect_recall",
    rate(positives.map((p) => clfOnly(p.text, "indirect"))),
  );
  emit(
    "injection_classifier_fpr_clean_emails",
    rate(negIndirect.map((t) => clfOnly(t, "indirect"))),
  );
  emit("injection_test_positives", positives.length, "count");
  emit("injection_test_negatives", negIndirect.length + negDirect.length, "count");
  return clf;
}

async function latencyBench(clf: InjectionClassifier): Promise<void> {
  const guard = await createGuard(
    { denied: [{ name: "secrets", terms: ["password"], action: "block" }] },
    clf,
  );
  const base =
    "Hi Anna, please call Mr. Peter Hansen at (555) 231-4477 or write to peter.hansen@example.com. " +
    "Our office moved to 1755 Nelson Mandela Drive, Cape Town. The invoice for card " +
    "4532276644577020 was paid on 12/27/2023 from IBAN DE89370400440532013000. ";
  const text = base.repeat(Math.ceil(1024 / base.length)).slice(0, 1024);
  for (let i = 0; i < 50; i++) guard.verdict(text, "indirect");
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    guard.verdict(text, "indirect");
    times.push(performance.now() - t0);
  }
  emit("verdict_1kb_p50", percentile(times, 50), "ms");
  emit("verdict_1kb_p95", percentile(times, 95), "ms");
}

export async function main(): Promise<void> {
  await piiBench();
  const clf = await injectionBench();
  await latencyBench(clf);
}

await main();
