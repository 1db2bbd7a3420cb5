import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Public part of a key: 16 lowercase hex characters (64 random bits), safe to log. */
export const KEY_ID = /^[0-9a-f]{16}$/;
// `tlr_<id>_<secret>`: the secret is 32 random bytes in base64url (43 characters, may hold `_`).
const KEY = /^tlr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** Well above a real header's size; anything longer is refused before a regex looks at it. */
const MAX_HEADER_CHARS = 256;

/** A newly made key: `token` is the whole key, given to the caller once and never stored. */
export interface NewKey {
  id: string;
  secretHash: Buffer;
  token: string;
}

export function generateKey(): NewKey {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, secretHash: hashSecret(secret), token: `tlr_${id}_${secret}` };
}

export function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  const given = hashSecret(secret);
  return storedHash.length === given.length && timingSafeEqual(given, storedHash);
}

/** Why a presented key was refused; the message never quotes the header. */
export class KeyFormatError extends Error {
  override readonly name = "KeyFormatError";
  readonly code = "key_format";
}

/** The id and secret of `authorization: Bearer tlr_<id>_<secret>`; KeyFormatError otherwise. */
export function parseAuthorization(header: string | null | undefined): {
  id: string;
  secret: string;
} {
  if (header === null || header === undefined)
    throw new KeyFormatError("authorization: Bearer <api key> is required");
  if (header.length > MAX_HEADER_CHARS)
    throw new KeyFormatError(
      `authorization is ${header.length} characters, too long to hold an API key`,
    );
  if (header.trim() === "") throw new KeyFormatError("authorization: Bearer <api key> is required");
  const bearer = BEARER.exec(header);
  if (!bearer) throw new KeyFormatError("authorization must be Bearer <api key>");
  const key = KEY.exec(bearer[1]!);
  if (!key) throw new KeyFormatError("the API key is malformed: expected tlr_<id>_<secret>");
  return { id: key[1]!, secret: key[2]! };
}
