import type { VectorStore } from "@tailor/vector";

/**
 * The index versions (`name@version` collections) a tenant has vectors in, with their counts.
 * Collections of the layout before exact versions (no `@`) are left out: they are replayed anew.
 */
export async function indexVersions(
  store: VectorStore,
  tenant: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const c of await store.collections()) {
    if (!c.includes("@")) continue;
    const n = await store.count(tenant, c);
    if (n > 0) out.set(c, n);
  }
  return out;
}
