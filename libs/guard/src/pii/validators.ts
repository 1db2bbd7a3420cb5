/** Luhn checksum over the digits of `s` (separators ignored); false when fewer than 2 digits. */
export function luhnValid(s: string): boolean {
  let sum = 0;
  let n = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    let d = c;
    if (n % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    n++;
  }
  return n >= 2 && sum % 10 === 0;
}

const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** ISO 13616 IBAN check: known country length and mod-97 remainder 1 (spaces ignored). */
export function ibanValid(s: string): boolean {
  const iban = s.replace(/[\s-]/g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(iban)) return false;
  const want = IBAN_LENGTHS[iban.slice(0, 2)];
  if (want !== undefined && want !== iban.length) return false;
  return mod97(iban.slice(4) + iban.slice(0, 4)) === 1;
}

/** Remainder mod 97 of the number formed by replacing letters with 10..35 (streamed, no BigInt). */
export function mod97(s: string): number {
  let r = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) r = (r * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) r = (r * 100 + (c - 55)) % 97;
    else return -1;
  }
  return r;
}

/**
 * US SSN structural rules (SSA): area not 000, 666 or 900-999; group not 00; serial not 0000;
 * plus the well-known advertising/sample numbers.
 */
export function ssnValid(s: string): boolean {
  const digits = s.replace(/[\s-]/g, "");
  if (!/^\d{9}$/.test(digits)) return false;
  const area = Number(digits.slice(0, 3));
  const group = Number(digits.slice(3, 5));
  const serial = Number(digits.slice(5));
  if (area === 0 || area === 666 || area >= 900) return false;
  if (group === 0 || serial === 0) return false;
  if (digits === "078051120" || digits === "219099999" || digits === "123456789") return false;
  // One repeated digit is a placeholder, not a number someone was issued.
  return !/^(\d)\1{8}$/.test(digits);
}

/** Dotted-quad IPv4 with octets 0-255 and no leading zeros beyond a single 0. */
export function ipv4Valid(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p[0] === "0")) return false;
  }
  return true;
}

/** RFC 4291 textual IPv6 (with at most one `::`, optional trailing IPv4). */
export function ipv6Valid(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return false;
  let groups = s.split(":");
  let want = 8;
  const last = groups[groups.length - 1] ?? "";
  if (last.includes(".")) {
    if (!ipv4Valid(last)) return false;
    groups = groups.slice(0, -1);
    want = 6;
  }
  if (dbl === -1) {
    return groups.length === want && groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g));
  }
  const nonEmpty = groups.filter((g) => g !== "");
  // "::" stands for at least one zero group, so fewer than `want` explicit groups may remain.
  if (nonEmpty.length > want - 1) return false;
  const head = s.slice(0, dbl);
  const tail = s.slice(dbl + 2);
  if ((head.startsWith(":") && head !== "") || (tail.endsWith(":") && !tail.includes("."))) {
    return false;
  }
  return nonEmpty.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g));
}

/** Calendar check for a year/month/day triple (Gregorian leap years). */
export function dateValid(y: number, m: number, d: number): boolean {
  if (!Number.isInteger(y) || y < 1000 || y > 2999 || m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
  return d <= days;
}
