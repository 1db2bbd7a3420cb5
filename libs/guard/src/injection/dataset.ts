import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Example, mulberry32 } from "./classifier.js";
import type { InjectionMode } from "./heuristics.js";
import { segments } from "./score.js";

/**
 * The BIPIA-style injection data (shared/data/injection): attack instructions by family and
 * category, and clean e-mails with a question each. The files are read, never copied.
 */
export interface InjectionCorpus {
  /** In file order: families `text` then `code`, categories as the files list them. */
  attacks: { family: "text" | "code"; category: string; items: string[] }[];
  emails: { context: string; question: string }[];
}

/** One held-out text with how the guard would see it. */
export interface HeldOutText {
  text: string;
  mode: InjectionMode;
  /** Attack family of a positive (`text`, `code`); a tenant's own examples are marked by the caller. */
  family?: string;
}

/** A seeded split: examples to train on, and held-out positives and negatives to measure on. */
export interface InjectionSplit {
  train: Example[];
  /** Held-out attacks, unplanted (as an instruction on its own would arrive). */
  heldOutAttacks: { family: string; text: string }[];
  positives: HeldOutText[];
  negatives: HeldOutText[];
}

const FILES = {
  text: "text_attack_train.json",
  code: "code_attack_train.json",
  emails: "email_train.jsonl",
} as const;
/** The files are a few tens of KiB; anything far larger is not the data this reader knows. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;
const MAX_TEXT_CHARS = 100_000;

/** Reads and checks the injection data under `dir`; errors name the file and what is wrong. */
export async function readInjectionCorpus(dir: string): Promise<InjectionCorpus> {
  const attacks: InjectionCorpus["attacks"] = [];
  for (const family of ["text", "code"] as const) {
    const file = FILES[family];
    const parsed = parseJson(file, await readBounded(join(dir, file)));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error(`${file}: expected an object of category → list of attacks`);
    for (const [category, items] of Object.entries(parsed)) {
      if (!Array.isArray(items) || !items.every((s) => isText(s)))
        throw new Error(`${file}: category ${JSON.stringify(category)} is not a list of texts`);
      attacks.push({ family, category, items: items as string[] });
    }
  }
  const emails: InjectionCorpus["emails"] = [];
  const lines = (await readBounded(join(dir, FILES.emails))).split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const e = parseJson(`${FILES.emails} line ${i + 1}`, line) as Record<string, unknown>;
    if (!isText(e?.["context"]) || !isText(e["question"]))
      throw new Error(`${FILES.emails} line ${i + 1}: needs string context and question`);
    emails.push({ context: e["context"], question: e["question"] });
  }
  if (attacks.length === 0 || emails.length === 0)
    throw new Error(`${dir}: no attacks or no e-mails in the injection data`);
  return { attacks, emails };
}

/**
 * Splits the corpus by `seed`: per attack category 60% train, 40% held out; e-mails 60/40.
 * Training positives are the attacks whole and segmented, negatives the e-mail segments and
 * questions. Held-out positives are the held-out attacks planted at the start, middle and end
 * of held-out e-mails (scored as retrieved content); negatives are the clean held-out e-mails
 * (content) and their questions (asked directly). The same corpus and seed give the same split.
 */
export function splitInjectionCorpus(corpus: InjectionCorpus, seed: number): InjectionSplit {
  const rand = mulberry32(seed);
  const train: Example[] = [];
  const heldOutAttacks: InjectionSplit["heldOutAttacks"] = [];
  for (const { family, items } of corpus.attacks) {
    const s = seededSplit(items, 0.6, rand);
    for (const a of s.train) for (const seg of segments(a)) train.push({ text: seg, label: 1 });
    for (const a of s.train) train.push({ text: a, label: 1 });
    for (const a of s.test) heldOutAttacks.push({ family, text: a });
  }
  const mail = seededSplit(corpus.emails, 0.6, rand);
  for (const e of mail.train) {
    for (const seg of segments(e.context)) train.push({ text: seg, label: 0 });
    train.push({ text: e.question, label: 0 });
  }
  const positives: HeldOutText[] = mail.test.length
    ? heldOutAttacks.flatMap((a, i) =>
        [0, 1, 2].map((where) => ({
          family: a.family,
          mode: "indirect" as const,
          text: plantAttack(mail.test[(i + where) % mail.test.length]!.context, a.text, where),
        })),
      )
    : [];
  const negatives: HeldOutText[] = [
    ...mail.test.map((e) => ({ text: e.context, mode: "indirect" as const })),
    ...mail.test.map((e) => ({ text: e.question, mode: "direct" as const })),
  ];
  return { train, heldOutAttacks, positives, negatives };
}

/** Fisher-Yates shuffle with `rand`, then the first `trainShare` to train, the rest to test. */
export function seededSplit<T>(
  items: readonly T[],
  trainShare: number,
  rand: () => number,
): { train: T[]; test: T[] } {
  const xs = [...items];
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  const n = Math.round(xs.length * trainShare);
  return { train: xs.slice(0, n), test: xs.slice(n) };
}

/** Plants `attack` at the start (0), middle (1, at a line break) or end (2) of `context`. */
export function plantAttack(context: string, attack: string, where: number): string {
  if (where === 0) return `${attack}\n${context}`;
  if (where === 2) return `${context}\n${attack}`;
  const lines = context.split("\n");
  const mid = Math.floor(lines.length / 2);
  return [...lines.slice(0, mid), attack, ...lines.slice(mid)].join("\n");
}

async function readBounded(path: string): Promise<string> {
  const s = await stat(path);
  if (s.size > MAX_FILE_BYTES)
    throw new Error(`${path}: ${s.size} bytes, more than the ${MAX_FILE_BYTES} this reader takes`);
  return readFile(path, "utf8");
}

function parseJson(where: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`, { cause: err });
  }
}

function isText(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_TEXT_CHARS;
}
