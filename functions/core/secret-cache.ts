import { SingleFlight } from './single-flight.ts';

export interface SecretCacheOptions<V> {
  now: () => number;
  /** How long a value read is trusted before the next read (rotation is also caught by `reread`). */
  ttlMs: number;
  read: (secretId: string) => Promise<V>;
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

  get(secretId: string): Promise<V> {
    const cached = this.#values.get(secretId);
    if (cached && this.#options.now() - cached.readAt < this.#options.ttlMs) return Promise.resolve(cached.value);
    return this.reread(secretId);
  }

  reread(secretId: string): Promise<V> {
    return this.#flight.run(secretId, async () => {
      const value = await this.#options.read(secretId);
      this.#values.set(secretId, { value, readAt: this.#options.now() });
      return value;
    });
  }
}
