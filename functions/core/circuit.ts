/**
 * A circuit around the shared tier: one failure of the table or KMS opens it for `openMs`, during
 * which the instance works alone (its own cache, its own authentication) without waiting on a
 * dependency that just failed; the first request after that tries the shared tier again.
 *
 * @example
 * const circuit = new Circuit({ now: Date.now, openMs: 30_000 });
 * if (!circuit.isOpen()) try { … } catch { circuit.trip('dynamodb GetItem ThrottlingException'); }
 */
export class Circuit {
  readonly #now: () => number;
  readonly #openMs: number;
  #openUntil = 0;
  #reason: string | null = null;

  constructor(options: { now: () => number; openMs: number }) {
    this.#now = options.now;
    this.#openMs = options.openMs;
  }

  isOpen(): boolean {
    return this.#now() < this.#openUntil;
  }

  /** Why it is open (for the audit line), or `null`. */
  get reason(): string | null {
    return this.isOpen() ? this.#reason : null;
  }

  trip(reason: string): void {
    this.#openUntil = this.#now() + this.#openMs;
    this.#reason = reason;
  }
}
