import type { SecretVersionStore } from '../../functions/adapters/secret-versions.ts';
import { IdentityRejectedError, isUnauthorized } from '../../functions/adapters/identity.ts';
import type { Credentials } from '../../functions/core/credentials.ts';
import type { Token } from '../../functions/core/token.ts';
import type { StepDeps } from '../../functions/rotate/steps.ts';
import { ApiError, SecretVersions, type Secret } from '../emulators/secret-versions.ts';

// An in-memory world for exploring interleavings of rotation steps: the Secrets Manager emulator's
// own version rules (test/emulators/secret-versions.ts: ResourceExistsException on a changed put,
// the RemoveFromVersionId check) and a model of Rackspace Identity's key and token rules (the same
// token until its last hour; a reset refuses the old key but no token; a revoked token is refused).
// Every call of a step goes through `gate`, where a test scheduler decides when it runs and a crash
// can end the invocation before or after the call's effect.

export const SECRET_ID = 'rackspace/demo';
export const USER_ID = '10040001';
const HOUR = 3_600_000;

export class IdentityModel {
  key: string;
  resets = 0;
  readonly revoked = new Set<string>();
  #tokens = 0;
  #held: { id: string; expiresAt: number } | null = null;
  readonly #expiry = new Map<string, number>();
  readonly #now: () => number;

  /** `sameToken: false`: every authentication gets a token of its own (Rackspace does so in a token's last hour). */
  readonly #sameToken: boolean;

  constructor(key: string, now: () => number, sameToken = true) {
    this.key = key;
    this.#now = now;
    this.#sameToken = sameToken;
  }

  accepts(apiKey: string | undefined): boolean {
    return apiKey === this.key;
  }

  /** Valid for the key calls: issued, not expired, not revoked. */
  live(tokenId: string): boolean {
    const expiresAt = this.#expiry.get(tokenId);
    return expiresAt !== undefined && expiresAt > this.#now() && !this.revoked.has(tokenId);
  }

  authenticate(apiKey: string): Token {
    if (!this.accepts(apiKey)) throw new IdentityRejectedError(401, 'unauthorized');
    // Rackspace answers the same token until its last hour.
    if (!this.#sameToken || !this.#held || this.#held.expiresAt - this.#now() <= HOUR || this.revoked.has(this.#held.id)) {
      this.#held = { id: `tok-${++this.#tokens}`, expiresAt: this.#now() + 24 * HOUR };
      this.#expiry.set(this.#held.id, this.#held.expiresAt);
    }
    return { id: this.#held.id, expiresAt: this.#held.expiresAt, tenant: { id: '110011', name: '110011' }, defaultRegion: 'DFW', catalog: [], userId: USER_ID };
  }

  #session(tokenId: string, userId: string): void {
    if (!this.live(tokenId)) throw new IdentityRejectedError(401, 'unauthorized');
    if (userId !== USER_ID) throw new IdentityRejectedError(403, 'forbidden');
  }

  reset(tokenId: string, userId: string): string {
    this.#session(tokenId, userId);
    this.key = `key-${++this.resets}-0123456789abcdef`;
    return this.key;
  }

  current(tokenId: string, userId: string): string {
    this.#session(tokenId, userId);
    return this.key;
  }

  revoke(tokenId: string): 'revoked' | 'already-invalid' {
    if (!this.live(tokenId)) return 'already-invalid';
    this.revoked.add(tokenId);
    return 'revoked';
  }
}

/** The emulator's version rules as our port; its errors carry Secrets Manager's names, as the SDK's do. */
export function versionStore(versions: SecretVersions, secret: Secret): SecretVersionStore {
  const named = <T>(op: () => T): T => {
    try {
      return op();
    } catch (error) {
      if (error instanceof ApiError) throw Object.assign(new Error(error.message), { name: error.type });
      throw error;
    }
  };
  return {
    describe: async () => ({ rotationEnabled: true, stages: versions.stagesOf(secret) }),
    value: async (_id, { versionId, stage }) => {
      try {
        const found = named(() => versions.select(secret, versionId, stage));
        return found.secretString === undefined ? null : { versionId: found.id, secretString: found.secretString };
      } catch (error) {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') return null;
        throw error;
      }
    },
    put: async (_id, { versionId, secretString, stages }) => void named(() => versions.put(secret, secretString, stages, versionId)),
    moveStage: async (_id, stage, { moveTo, removeFrom }) => named(() => versions.updateStage(secret, stage, removeFrom, moveTo)),
  };
}

/** Where a step invocation stops for good: at its `at`-th call, before the call's effect or just after it. */
export interface Crash {
  at: number;
  after: boolean;
}

/** Runs a call's `effect` when the scheduler lets it; in a crashed invocation the call never returns. */
export type Gate = <T>(what: string, effect: () => T | Promise<T>) => Promise<T>;

/** A gate that waits for `schedule` before each call and ends the invocation at `crash`, if any. */
export function crashingGate(schedule: (what: string) => Promise<unknown>, crash: Crash | null): Gate {
  let calls = 0;
  const never = new Promise<never>(() => {});
  return async (what, effect) => {
    const n = calls++;
    await schedule(what);
    if (crash && n > crash.at) return never;
    if (crash && n === crash.at && !crash.after) return never;
    const result = await effect();
    if (crash && n === crash.at) return never;
    return result;
  };
}

/** One invocation's dependencies over the shared world, every call through `gate`. */
export function modelDeps(world: { store: SecretVersionStore; identity: IdentityModel; now: () => number }, gate: Gate, invocationEnds: number): StepDeps {
  const { store, identity } = world;
  return {
    store: {
      describe: (id) => gate('describe', () => store.describe(id)),
      value: (id, select) => gate(`value ${select.stage ?? select.versionId ?? ''}`, () => store.value(id, select)),
      put: (id, version) => gate(`put ${version.stages.join(',')}`, () => store.put(id, version)),
      moveStage: (id, stage, versions) => gate(`move ${stage}`, () => store.moveStage(id, stage, versions)),
    },
    authenticate: (credentials: Credentials) => gate('authenticate', () => identity.authenticate(credentials.secret.kind === 'apiKey' ? credentials.secret.apiKey : '')),
    isUnauthorized,
    keys: {
      reset: (session) => gate('reset', () => identity.reset(session.tokenId, session.userId)),
      current: (session) => gate('current', () => identity.current(session.tokenId, session.userId)),
    },
    revoke: (_identityUrl: string, tokenId: string) => gate('revoke', () => identity.revoke(tokenId)),
    retryingWrite: (write) => write(),
    defaultIdentityUrl: 'https://identity.example/v2.0',
    now: world.now,
    invocationEnds,
  };
}
