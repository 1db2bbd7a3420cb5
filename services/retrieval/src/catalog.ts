import type { ChunkPayload } from "@tailor/vector";

/** The chunks a tenant has indexed, by id: what search results are built from. */
export class ChunkCatalog {
  private readonly byTenant = new Map<string, Map<string, ChunkPayload>>();
  private readonly docs = new Map<string, Map<string, number>>();

  get(tenant: string, id: string): ChunkPayload | undefined {
    return this.byTenant.get(tenant)?.get(id);
  }

  put(tenant: string, id: string, p: ChunkPayload): void {
    let m = this.byTenant.get(tenant);
    if (!m) {
      m = new Map();
      this.byTenant.set(tenant, m);
    }
    if (!m.has(id)) this.bumpDoc(tenant, docKey(p), 1);
    m.set(id, p);
  }

  remove(tenant: string, id: string): ChunkPayload | undefined {
    const m = this.byTenant.get(tenant);
    const p = m?.get(id);
    if (!m || !p) return undefined;
    m.delete(id);
    this.bumpDoc(tenant, docKey(p), -1);
    return p;
  }

  chunks(tenant: string): number {
    return this.byTenant.get(tenant)?.size ?? 0;
  }

  documents(tenant: string): number {
    return this.docs.get(tenant)?.size ?? 0;
  }

  private bumpDoc(tenant: string, key: string, d: number): void {
    let m = this.docs.get(tenant);
    if (!m) {
      m = new Map();
      this.docs.set(tenant, m);
    }
    const n = (m.get(key) ?? 0) + d;
    if (n <= 0) m.delete(key);
    else m.set(key, n);
  }
}

function docKey(p: ChunkPayload): string {
  return `${p.source}\u0000${p.documentId}`;
}
