import type { StoredState, TokenStore } from '../core/token-store.ts';

const EMPTY: StoredState = { revision: 0, token: null, identity: null, confirmedAt: null, unreadable: false, lease: null, backoff: null };

/**
 * The shared tier's port over a Map: the same conditions as the DynamoDB adapter, for unit tests of
 * core/fleet.ts on a fake clock and as the reference the adapter contract test holds both to.
 * Shared by every instance that is handed the same object, like one table.
 *
 * @example
 * const store = memoryStore();
 * await store.acquire('demo', { owner: 'i-1', until: now + 10_000, revision: 0 }); // true
 */
export function memoryStore(): TokenStore & { records: Map<string, StoredState> } {
  const records = new Map<string, StoredState>();
  const get = (profile: string) => records.get(profile) ?? EMPTY;
  const put = (profile: string, patch: Partial<StoredState>) => {
    const current = get(profile);
    records.set(profile, { ...current, ...patch, revision: current.revision + 1 });
  };
  return {
    records,
    read: async (profile) => structuredClone(get(profile)),
    async acquire(profile, { owner, until, revision }) {
      if (get(profile).revision !== revision) return false;
      put(profile, { lease: { owner, until } });
      return true;
    },
    async publish(profile, { owner, token, identity, confirmedAt }) {
      const current = get(profile);
      const holder = current.lease?.owner === owner;
      // Stryker disable next-line OptionalChaining: a record names an identity only together with its token (publish sets both, flush clears both); the ?. is for the type.
      const later = current.identity === identity && (current.token?.expiresAt ?? Number.POSITIVE_INFINITY) < token.expiresAt;
      if (!holder && !later) return false;
      put(profile, { token: structuredClone(token), identity, confirmedAt, unreadable: false, lease: null, backoff: null });
      return true;
    },
    async fail(profile, { owner, backoff }) {
      if (get(profile).lease?.owner === owner) put(profile, { lease: null, backoff });
    },
    async drop(profile, { identity, expiresAt }) {
      const current = get(profile);
      if (current.identity !== identity || current.token?.expiresAt !== expiresAt) return false;
      put(profile, { token: null, identity: null, confirmedAt: null, unreadable: false, lease: null });
      return true;
    },
  };
}
