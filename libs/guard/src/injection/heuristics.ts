import { countHidden, normalizeForMatching } from "./normalize.js";

/** One rule that fired, with its weight in the noisy-OR. */
export interface Signal {
  rule: string;
  weight: number;
}

export type InjectionMode = "direct" | "indirect";

interface Rule {
  rule: string;
  re: RegExp;
  direct: number;
  indirect: number;
}

// Bounded gaps ([^.!?\n]{0,N}) keep each rule linear; the patterns are written on normalised
// (lower-cased, NFKC, whitespace-collapsed) text.
const G = (n: number) => `[^.!?\\n]{0,${n}}`;
const RULES: Rule[] = [
  {
    rule: "override",
    re: new RegExp(
      `\\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)\\b${G(40)}\\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|initial|original)\\b${G(30)}\\b(?:instructions?|prompts?|rules|directions|guidelines|constraints|polic(?:y|ies)|programming)|\\b(?:ignore|disregard|forget) (?:all of |everything )?(?:the )?(?:above|previous|prior|preceding|earlier)(?: (?:text|messages?|content|conversation|input))?(?: and\\b|[.,:;]|$)`,
    ),
    direct: 0.9,
    indirect: 0.95,
  },
  {
    rule: "new_instructions",
    re: /\b(?:new|updated|real|actual|secret|hidden|additional|important) (?:instructions?|task|rules|directive|orders)\b|\bfrom now on\b|\binstead,? (?:you|respond|answer|say|output|write)\b/,
    direct: 0.5,
    indirect: 0.7,
  },
  {
    rule: "role_marker",
    re: /(?:^|[\s"'`>])(?:system|assistant|developer)\s?:|<\|im_start\|>|<\|system\|>|\[inst\]|<<sys>>|###\s?(?:system|instruction)|<\/?system>|begin (?:system|admin) (?:prompt|message)/,
    direct: 0.6,
    indirect: 0.85,
  },
  {
    rule: "role_play",
    re: /\byou are (?:now|no longer)\b|\b(?:act|behave|respond) as (?:if|an?|the)\b|\bpretend (?:to be|you(?: are|'re))\b|\broleplay\b|\brole-play\b|\bjailbreak|\bdeveloper mode\b|\bdan mode\b|\bdo anything now\b|\bwithout (?:any )?(?:restrictions|filters|limitations)\b/,
    direct: 0.6,
    indirect: 0.8,
  },
  {
    rule: "prompt_leak",
    re: new RegExp(
      `\\b(?:reveal|show|print|repeat|output|display|tell me|what (?:is|are|was|were)|leak|disclose|dump|write out)\\b${G(40)}\\b(?:system prompt|(?:your|the) (?:instructions|prompt|rules|guidelines|configuration)|initial prompt|hidden prompt|above text|text above|previous text)`,
    ),
    direct: 0.85,
    indirect: 0.9,
  },
  {
    rule: "exfiltration",
    re: new RegExp(
      `\\b(?:send|forward|post|upload|email|e-mail|transmit|exfiltrate|leak|submit)\\b${G(60)}\\b(?:to|at|via)\\b${G(20)}(?:https?:|www\\.|[a-z0-9._-]+@[a-z0-9-]+\\.|webhook|server|endpoint)|!\\[[^\\]\\n]{0,80}\\]\\(https?:[^)\\s]{0,300}[?&][a-z_]{1,20}=|\\b(?:password|api key|credentials|token|cookies?|session)\\b${G(40)}\\b(?:send|post|upload|share)`,
    ),
    direct: 0.6,
    indirect: 0.85,
  },
  {
    rule: "addresses_output",
    re: /\b(?:in|to|into|within|throughout|for) (?:your|the) (?:response|reply|answer|output|responses|replies|answers|summary|code|solution|implementation|codebase)\b|\byour (?:response|reply|answer|output) (?:should|must|needs to|has to|will)\b|\bwhen (?:you )?(?:respond|reply|answer|summari[sz]e)\b|\b(?:respond|reply|answer|output) (?:only )?(?:with|in)\b/,
    direct: 0.35,
    indirect: 0.8,
  },
  {
    rule: "code_insertion",
    re: new RegExp(
      `\\b(?:include|incorporate|add|insert|embed|integrate|use|utili[sz]e|employ|execute|run|blend|meld|append|enlist|deploy|leverage|absorb|inject|ensure|consider)\\b${G(50)}\\b(?:following|subsequent|this|below|these)\\b${G(10)}\\b(?:code|snippet|script|block|excerpt|section|command)`,
    ),
    direct: 0.4,
    indirect: 0.85,
  },
  {
    rule: "dangerous_code",
    re: /\b(?:requests\.(?:post|get)|urllib|urlretrieve|socket\.socket|subprocess|os\.system|os\.environ|exec\(|eval\(|smtplib|ftplib|curl -|wget |chmod \+x|rm -rf|\/dev\/sd|powershell -|base64 -d|nc -e)/,
    direct: 0.3,
    indirect: 0.6,
  },
  {
    rule: "concealment",
    re: /\b(?:do not|don't|never) (?:tell|mention|reveal|inform|disclose|let)\b[^.!?\n]{0,30}\b(?:user|anyone|them|human)\b|\bwithout (?:telling|informing|mentioning)\b|\bthe user (?:must not|should not|shouldn't) (?:know|see)\b/,
    direct: 0.5,
    indirect: 0.8,
  },
  {
    rule: "encoded",
    re: /\b(?:base64|rot13|rot-13|hex[- ]?encoded|decode (?:this|the following|it)|encoded (?:message|instructions?|payload))\b/,
    direct: 0.35,
    indirect: 0.45,
  },
  {
    rule: "hidden_markup",
    re: /<!--[^>]{0,500}(?:instruction|ignore|assistant|ai|model|prompt)|display\s?:\s?none|font-size\s?:\s?0|visibility\s?:\s?hidden|color\s?:\s?(?:white|#fff(?:fff)?)\b/,
    direct: 0.3,
    indirect: 0.6,
  },
  {
    rule: "ai_addressed",
    re: /\b(?:dear|attention|note to|hey|hi) (?:ai|assistant|chatbot|language model|llm|gpt|claude|bot)\b|\b(?:ai|assistant|language model|llm)s? (?:reading|processing|summari[sz]ing) this\b|\bif you are an? (?:ai|assistant|language model|llm)\b/,
    direct: 0.4,
    indirect: 0.85,
  },
];

const BASE64_RUN = /[A-Za-z0-9+/]{40,4096}={0,2}/g;
const MAX_DECODED = 8;
const MAX_ANALYSED = 1 << 20;

/**
 * Rule-based injection score in [0, 1]: fired rules combine as a noisy-OR, weighted by mode
 * (retrieved content addressing the assistant is far more suspicious than a user doing so).
 */
export function heuristicScore(
  text: string,
  mode: InjectionMode,
  depth = 0,
): { score: number; signals: Signal[] } {
  // Past the cap a document is judged on its head and tail, where planted text usually sits.
  const raw =
    text.length > MAX_ANALYSED
      ? text.slice(0, MAX_ANALYSED / 2) + "\n" + text.slice(-MAX_ANALYSED / 2)
      : text;
  const norm = normalizeForMatching(raw);
  const signals: Signal[] = [];
  for (const r of RULES) {
    if (r.re.test(norm))
      signals.push({ rule: r.rule, weight: mode === "direct" ? r.direct : r.indirect });
  }
  const hidden = countHidden(raw);
  if (hidden.tags > 0) signals.push({ rule: "tag_smuggling", weight: 0.8 });
  if (hidden.bidi > 0) signals.push({ rule: "bidi_controls", weight: 0.35 });
  if (hidden.zeroWidth > 3) signals.push({ rule: "zero_width", weight: 0.35 });
  if (hidden.control > 3) signals.push({ rule: "control_chars", weight: 0.2 });
  if (depth === 0) decodedSignals(raw, mode, signals);
  let keep = 1;
  for (const s of signals) keep *= 1 - s.weight;
  return { score: 1 - keep, signals };
}

/** Base64 blobs are decoded (a few, bounded) and scored as text: payloads hide in encodings. */
function decodedSignals(text: string, mode: InjectionMode, signals: Signal[]): void {
  BASE64_RUN.lastIndex = 0;
  let n = 0;
  for (let m = BASE64_RUN.exec(text); m !== null && n < MAX_DECODED; m = BASE64_RUN.exec(text)) {
    n++;
    const decoded = Buffer.from(m[0], "base64").toString("utf8");
    const printable = decoded.replace(/[^\x20-\x7E\n\t]/g, "").length / Math.max(1, decoded.length);
    if (printable < 0.9) continue;
    const inner = heuristicScore(decoded, mode, 1);
    if (inner.score > 0.3) {
      signals.push({ rule: "encoded_payload", weight: Math.min(0.95, inner.score + 0.1) });
      return;
    }
  }
}
