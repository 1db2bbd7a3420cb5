import { createHash } from "node:crypto";

/** The share in [0, 1) a routing key maps to for a tenant: the same key, the same side. */
export function routingShare(tenant: string, key: string): number {
  const h = createHash("sha256").update(tenant).update("\u0000").update(key).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * Whether a request goes to a canary that takes `weight` of prod traffic: sticky by routing key
 * (every service that splits traffic uses this rule, so one key lands on the same side of every
 * model's canary), drawn from `random` when the request has no key.
 */
export function takesCanary(
  tenant: string,
  routingKey: string,
  weight: number,
  random: () => number = Math.random,
): boolean {
  const u = routingKey ? routingShare(tenant, routingKey) : random();
  return u < weight;
}
