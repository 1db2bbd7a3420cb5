// How a retrieval-augmented prompt is written for a generative model: the gateway renders it at
// answer time and the trainer renders the same for fine-tuning examples, so a model is tuned on
// exactly the prompts it is served. Passages are hostile (NUL, controls, lone surrogates, bidi
// overrides, forged citation markers, megabytes): everything here is linear in the input and
// bounded in what it produces.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** `[3]`-style markers in a passage would read as our citations; they are removed. */
const CITATION = / ?\[ ?\d{1,6} ?\]/g;
const FENCE = /`{3,}[A-Za-z0-9_-]*/g;

/** Text safe to quote on one line: no controls, bidi overrides, lone surrogates or markers. */
export function cleanText(s: string): string {
  // Whitespace is collapsed before the patterns run, so none of them backtracks over a run.
  return s
    .replace(LONE_SURROGATE, "")
    .replace(CONTROL, " ")
    .replace(BIDI, "")
    .replace(/\s+/g, " ")
    .replace(CITATION, "")
    .replace(FENCE, "")
    .trim();
}

/** One numbered passage as a prompt shows it. */
export interface PromptPassage {
  number: number;
  title: string;
  text: string;
}

/** One earlier turn of a conversation. */
export interface PromptTurn {
  role: "user" | "assistant" | "system";
  content: string;
}

/**
 * The prompt of `onnx` and `openai` generators when the spec has none. `{{history}}` is
 * optional in a template (empty for `openai`, which sends earlier turns as messages).
 */
export const DEFAULT_PROMPT_TEMPLATE = `Answer the question using only the numbered passages below. End every sentence with the number of the passage that supports it in square brackets, like [1]. If the passages do not contain the answer, say that you do not know.

Passages:
{{context}}

{{history}}Question: {{question}}
Answer:`;

/** Characters of passage text put in a prompt, in all and per passage. */
export const MAX_CONTEXT_CHARS = 12_000;
export const MAX_PASSAGE_CONTEXT_CHARS = 4_000;
/** Characters of earlier turns put in a prompt (the most recent ones). */
export const MAX_HISTORY_CHARS = 4_000;

/** The numbered passages as the prompt shows them, within {@link MAX_CONTEXT_CHARS}. */
export function formatContext(passages: readonly PromptPassage[]): string {
  const parts: string[] = [];
  let left = MAX_CONTEXT_CHARS;
  for (const p of passages) {
    if (left <= 0) break;
    const room = Math.min(left, MAX_PASSAGE_CONTEXT_CHARS);
    const text = cleanText(p.text.slice(0, room * 2)).slice(0, room);
    const title = cleanText(p.title.slice(0, 512)).slice(0, 200);
    const part = `[${p.number}]${title ? ` ${title}:` : ""} ${text}`;
    parts.push(part);
    left -= part.length;
  }
  return parts.join("\n\n");
}

/** Earlier turns as prompt lines, the most recent within {@link MAX_HISTORY_CHARS}. */
export function formatHistory(history: readonly PromptTurn[]): string {
  const lines: string[] = [];
  let left = MAX_HISTORY_CHARS;
  for (let i = history.length - 1; i >= 0 && left > 0; i--) {
    const t = history[i]!;
    const who = t.role === "user" ? "User" : t.role === "assistant" ? "Assistant" : "System";
    const line = `${who}: ${cleanText(t.content.slice(0, left * 2)).slice(0, left)}`;
    lines.unshift(line);
    left -= line.length;
  }
  return lines.length > 0 ? `Conversation so far:\n${lines.join("\n")}\n\n` : "";
}

/**
 * Fills `{{context}}`, `{{question}}` and `{{history}}` in one pass: a question or passage that
 * itself holds `{{context}}` is inserted as text, never expanded.
 */
export function renderPrompt(
  template: string,
  values: { context: string; question: string; history: string },
): string {
  return (template || DEFAULT_PROMPT_TEMPLATE).replace(
    /\{\{(context|question|history)\}\}/g,
    (_, key: "context" | "question" | "history") => values[key],
  );
}

/** The whole prompt of one question: the template over the numbered passages and earlier turns. */
export function ragPrompt(
  template: string,
  input: { passages: readonly PromptPassage[]; question: string; history?: readonly PromptTurn[] },
): string {
  return renderPrompt(template, {
    context: formatContext(input.passages),
    question: cleanText(input.question),
    history: formatHistory(input.history ?? []),
  });
}
