/**
 * What the DynamoDB client's endpoint cache uses of `mnemonist/lru-cache` (constructor, get, set,
 * has, peek, clear), on a Map: infra/esbuild.cjs aliases the package to this file in the deployed
 * bundle, where mnemonist and obliterator cost ~7 KiB for a cache that endpoint discovery (off for
 * DynamoDB unless asked for) never fills.
 */
export default class LRUCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** A read makes the entry the most recent one, as mnemonist's does. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key) as V;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** A read that leaves the order alone. */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  set(key: K, value: V): this {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as K);
    return this;
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
