import type { SecretVersionStore } from '../../functions/adapters/secret-versions.ts';
import type { Token } from '../../functions/core/token.ts';
import type { StepDeps } from '../../functions/rotate/steps.ts';

// Fakes of the rotation steps' own ports (not of the SDK): an in-memory version store that records
// its writes, and dependencies whose Identity calls answer at once.

export const NOW = Date.parse('2026-11-22T10:00:00Z');

export interface Version {
  secretString: string | null;
  stages: string[];
}

export function memoryVersions(versions: Record<string, Version>, rotationEnabled = true) {
  const writes: string[] = [];
  const store: SecretVersionStore = {
    async describe() {
      const stages = Object.fromEntries(Object.entries(versions).filter(([, v]) => v.stages.length).map(([id, v]) => [id, [...v.stages]]));
      return { rotationEnabled, stages };
    },
    async value(_secretId, { versionId, stage }) {
      const found = Object.entries(versions).find(([id, v]) => (versionId === undefined || id === versionId) && (stage === undefined || v.stages.includes(stage)));
      return found && found[1].secretString !== null ? { versionId: found[0], secretString: found[1].secretString } : null;
    },
    async put(_secretId, { versionId, secretString, stages }) {
      writes.push(`put ${stages.join(',')}`);
      const id = versionId ?? `v${Object.keys(versions).length}`;
      versions[id] = { secretString, stages };
    },
    async moveStage(_secretId, stage, { moveTo, removeFrom }) {
      writes.push(`move ${stage}${moveTo ? ` to ${moveTo}` : ''}${removeFrom ? ` from ${removeFrom}` : ''}`);
      const from = removeFrom === undefined ? undefined : versions[removeFrom];
      if (from) from.stages = from.stages.filter((label) => label !== stage);
      if (moveTo) versions[moveTo]?.stages.push(stage);
    },
  };
  return { store, writes };
}

export function deps(store: SecretVersionStore, overrides: Partial<StepDeps> = {}): StepDeps & { calls: string[] } {
  const calls: string[] = [];
  return {
    store,
    authenticate: async () => {
      calls.push('authenticate');
      return { id: 'tok-rotation-0001', expiresAt: NOW + 3_600_000, tenant: { id: '110011', name: 'Acme' }, defaultRegion: 'DFW', catalog: [], userId: '10040001' } satisfies Token;
    },
    isUnauthorized: () => false,
    keys: {
      reset: async () => (calls.push('reset'), 'new-key-000000000000000000000000'),
      current: async () => (calls.push('current'), 'new-key-000000000000000000000000'),
    },
    revoke: async () => (calls.push('revoke'), 'revoked'),
    retryingWrite: (write) => write(),
    defaultIdentityUrl: 'https://identity.api.rackspacecloud.com/v2.0',
    now: () => NOW,
    invocationEnds: NOW + 60_000,
    ...overrides,
    calls,
  };
}
