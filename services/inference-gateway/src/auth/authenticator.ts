import { Code, ConnectError } from "@connectrpc/connect";
import type { Authenticator, Caller } from "../types.js";
import { KeyFormatError, parseAuthorization, secretMatches } from "./key.js";
import type { KeyCache } from "./key-cache.js";

/** Resolves `authorization: Bearer tlr_<id>_<secret>` to the key's tenant. */
export class KeyAuthenticator implements Authenticator {
  constructor(private readonly keys: KeyCache) {}

  async authenticate(authorization: string | null | undefined): Promise<Caller> {
    let presented: { id: string; secret: string };
    try {
      presented = parseAuthorization(authorization);
    } catch (err) {
      if (err instanceof KeyFormatError) throw new ConnectError(err.message, Code.Unauthenticated);
      throw err;
    }
    const key = await this.keys.get(presented.id);
    // Unknown id and wrong secret read alike: the answer says nothing about which ids exist.
    if (!key || !secretMatches(presented.secret, key.secretHash))
      throw new ConnectError("the API key is not valid", Code.Unauthenticated);
    if (key.revoked)
      throw new ConnectError(`the API key ${key.id} has been revoked`, Code.Unauthenticated);
    this.keys.touch(key.id);
    return { tenant: key.tenant, keyId: key.id };
  }
}
