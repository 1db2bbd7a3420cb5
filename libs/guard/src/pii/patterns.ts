import { parsePhoneNumberFromString } from "libphonenumber-js";
import { type Finding, hasContext } from "./types.js";
import { dateValid, ibanValid, ipv4Valid, ipv6Valid, luhnValid, ssnValid } from "./validators.js";

// Every pattern below has bounded quantifiers and no nested ambiguous repetition, so a match
// attempt costs O(bound) per start position and a scan stays linear in the input.

const CARD = /(?<![\d.-])(?:\d[ -]?){12,18}\d(?![\d-])/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;
const SSN = /(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])/g;
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)/g;
const IPV6 = /(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}/g;
const URL = /\b(?:https?:\/\/|ftp:\/\/|www\.)[^\s<>"'`{}|\\^]{1,2048}/gi;
const PHONE =
  /(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?: ?(?:x|ext\.?) ?\d{1,6})?(?![\w-]|\.\d)/g;
const DATE_ISO = /\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?\b/g;
const DATE_NUM = /\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b/g;
const MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec";
const MONTH_NAMES =
  "january|february|march|april|may|june|july|august|september|october|november|december";
const DATE_DMY = new RegExp(
  `\\b(\\d{1,2})(?:st|nd|rd|th)? (?:${MONTH_NAMES}|(?:${MONTHS})\\.?),? (\\d{4})\\b`,
  "gi",
);
const DATE_MDY = new RegExp(
  `\\b(?:${MONTH_NAMES}|(?:${MONTHS})\\.?) (\\d{1,2})(?:st|nd|rd|th)?,? (\\d{4})\\b`,
  "gi",
);

const PHONE_WORDS = ["phone", "call", "tel", "mobile", "cell", "fax", "desk", "office", "whatsapp"];
const CARD_WORDS = ["card", "visa", "mastercard", "amex", "credit", "debit", "cc"];
const SSN_WORDS = ["ssn", "social security", "social sec", "ss#", "taxpayer"];
const DATE_WORDS = ["born", "birth", "dob", "date", "since", "on", "when"];

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    yield m;
  }
}

/** E-mail addresses, found by expanding around each "@" (linear, no regex backtracking). */
export function findEmails(text: string, out: Finding[]): void {
  const local = /[A-Za-z0-9._%+'-]/;
  const domain = /[A-Za-z0-9.-]/;
  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    let s = at;
    while (s > 0 && at - s < 64 && local.test(text[s - 1]!)) s--;
    let e = at + 1;
    while (e < text.length && e - at < 255 && domain.test(text[e]!)) e++;
    while (e > at + 1 && (text[e - 1] === "." || text[e - 1] === "-")) e--;
    while (s < at && text[s] === ".") s++;
    const dom = text.slice(at + 1, e);
    const tld = dom.slice(dom.lastIndexOf(".") + 1);
    if (s === at || !dom.includes(".") || !/^[A-Za-z]{2,24}$/.test(tld)) continue;
    out.push({ type: "EMAIL", start: s, end: e, score: 0.95 });
  }
}

export function findUrls(text: string, out: Finding[]): void {
  for (const m of matches(URL, text)) {
    let end = m.index + m[0].length;
    // Sentence punctuation and a closing bracket are usually not part of the link.
    while (end > m.index && /[.,;:!?)\]]/.test(text[end - 1]!)) end--;
    if (end - m.index > 7) out.push({ type: "URL", start: m.index, end, score: 0.9 });
  }
}

export function findCards(text: string, out: Finding[]): void {
  for (const m of matches(CARD, text)) {
    const digits = m[0].replace(/\D/g, "");
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) continue;
    // Issuer prefixes: Visa 4, Mastercard 2/5, Amex 3, Discover/UnionPay 6.
    const known = /^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6)/.test(digits);
    const ctx = hasContext(text, m.index, m.index + m[0].length, CARD_WORDS);
    const score = known ? (ctx ? 0.99 : 0.9) : ctx ? 0.7 : 0.4;
    out.push({ type: "CREDIT_CARD", start: m.index, end: m.index + m[0].length, score });
  }
}

export function findIbans(text: string, out: Finding[]): void {
  for (const m of matches(IBAN, text)) {
    if (!ibanValid(m[0])) continue;
    out.push({ type: "IBAN", start: m.index, end: m.index + m[0].length, score: 0.95 });
  }
}

export function findSsns(text: string, out: Finding[]): void {
  for (const m of matches(SSN, text)) {
    if (!ssnValid(m[0])) continue;
    const ctx = hasContext(text, m.index, m.index + m[0].length, SSN_WORDS);
    const dashed = m[2] === "-";
    // Nine bare digits are anything (order numbers, zip+4); only context makes them an SSN.
    const score = ctx ? 0.95 : dashed ? 0.6 : m[2] === " " ? 0.35 : 0.15;
    out.push({ type: "US_SSN", start: m.index, end: m.index + m[0].length, score });
  }
}

export function findIps(text: string, out: Finding[]): void {
  for (const m of matches(IPV4, text)) {
    if (ipv4Valid(m[0])) {
      out.push({ type: "IP_ADDRESS", start: m.index, end: m.index + m[0].length, score: 0.9 });
    }
  }
  for (const m of matches(IPV6, text)) {
    if (!m[0].includes("::") && m[0].split(":").length < 8) continue;
    if (ipv6Valid(m[0])) {
      out.push({ type: "IP_ADDRESS", start: m.index, end: m.index + m[0].length, score: 0.9 });
    }
  }
}

export function findPhones(text: string, out: Finding[]): void {
  for (const m of matches(PHONE, text)) {
    const raw = m[0];
    const digits = raw.replace(/\D/g, "").length;
    if (digits < 7 || digits > 18) continue;
    const end = m.index + raw.length;
    const ctx = hasContext(text, m.index, end, PHONE_WORDS);
    const grouped = /[ .()-]/.test(raw);
    const parsed = parsePhoneNumberFromString(raw.replace(/\s?(?:x|ext\.?)\s?\d+$/, ""), "US");
    const valid = parsed?.isValid() === true;
    let score = 0.3;
    if (valid) score += 0.3;
    if (ctx) score += 0.35;
    if (grouped) score += 0.15;
    if (/^(?:\+|\()/.test(raw) || /x\d/.test(raw)) score += 0.1;
    out.push({ type: "PHONE", start: m.index, end, score: Math.min(score, 0.95) });
  }
}

export function findDates(text: string, out: Finding[]): void {
  for (const m of matches(DATE_ISO, text)) {
    if (!dateValid(Number(m[1]), Number(m[2]), Number(m[3]))) continue;
    out.push({ type: "DATE", start: m.index, end: m.index + m[0].length, score: 0.85 });
  }
  for (const m of matches(DATE_NUM, text)) {
    const a = Number(m[1]);
    const b = Number(m[3]);
    const y = Number(m[4]);
    // Month/day order is ambiguous; either reading being a real date is enough.
    if (!dateValid(y, a, b) && !dateValid(y, b, a)) continue;
    const ctx = hasContext(text, m.index, m.index + m[0].length, DATE_WORDS);
    out.push({ type: "DATE", start: m.index, end: m.index + m[0].length, score: ctx ? 0.9 : 0.75 });
  }
  for (const re of [DATE_DMY, DATE_MDY]) {
    for (const m of matches(re, text)) {
      out.push({ type: "DATE", start: m.index, end: m.index + m[0].length, score: 0.8 });
    }
  }
}
