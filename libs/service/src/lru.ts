/**
 * A map that keeps its `capacity` most recently used entries (a Map keeps insertion order, so
 * the first key is the least recently used); `evicted` hears each value that leaves for room.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    private readonly evicted?: (value: V) => void,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`LRU capacity ${capacity} is not at least 1`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size <= this.capacity) return;
    const oldest = this.map.entries().next();
    if (oldest.done) return;
    this.map.delete(oldest.value[0]);
    this.evicted?.(oldest.value[1]);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
