import { SingleFlight } from './single-flight.ts';

export interface SecretCacheOptions<V> {
  now: () => number;
  /** How long a value read is trusted before the next read (rotation is also caught by `reread`). */
  ttlMs: number;
  /** `signal` aborts the read when the request that started it runs out of time. */
  read: (secretId: string, signal?: AbortSignal) => Promise<V>;
}

/**
 * Secrets read at most once per `ttlMs` per id, concurrent readers sharing one read, failures never
 * kept. `reread` forces a fresh read, for when Identity says the credentials are wrong (rotation).
 */
export class SecretCache<V> {
  readonly #values = new Map<string, { value: V; readAt: number }>();
  readonly #flight = new SingleFlight<V>();
  readonly #options: SecretCacheOptions<V>;

  constructor(options: SecretCacheOptions<V>) {
    this.#options = options;
  }

  /** The value read within the TTL, or `undefined`: lets a warm vend skip the promise altogether. */
  peek(secretId: string): V | undefined {
    const cached = this.#values.get(secretId);
    return cached && this.#options.now() - cached.readAt < this.#options.ttlMs ? cached.value : undefined;
  }

  get(secretId: string, signal?: AbortSignal): Promise<V> {
    const fresh = this.peek(secretId);
    return fresh !== undefined ? Promise.resolve(fresh) : this.reread(secretId, signal);
  }

  reread(secretId: string, signal?: AbortSignal): Promise<V> {
    return this.#flight.run(secretId, async () => {
      const value = await this.#options.read(secretId, signal);
      this.#values.set(secretId, { value, readAt: this.#options.now() });
      return value;
    });
  }
}
