/**
 * Callers that ask for the same key while work is under way share its one promise. The entry is
 * dropped when the work settles, so a failure is never kept: the next caller starts afresh.
 *
 * @example
 * const flight = new SingleFlight<Token>();
 * await Promise.all([flight.run('p', auth), flight.run('p', auth)]); // auth runs once
 */
export class SingleFlight<V> {
  readonly #pending = new Map<string, Promise<V>>();

  run(key: string, work: () => Promise<V>): Promise<V> {
    const existing = this.#pending.get(key);
    if (existing) return existing;
    const promise = (async () => work())().finally(() => this.#pending.delete(key));
    this.#pending.set(key, promise);
    return promise;
  }
}
