import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../functions/core/logger.ts';
import type { Token } from '../../functions/core/token.ts';
import { reportSkipped } from '../../functions/token/skipped-log.ts';

const token = (id: string, skipped?: string[]): Token => ({ id, expiresAt: 0, tenant: null, defaultRegion: null, catalog: [], ...(skipped && { skipped }) });

describe('reportSkipped: what Identity answers lacked, logged once per token', () => {
  it('warns once per token, not for a token without skipped entries, and again after its memory of 64 tokens filled', () => {
    const lines: Array<{ level: string; message: string; profile: string; skipped: string[] }> = [];
    const logger = createLogger({ sink: (line) => void lines.push(JSON.parse(line)) });
    const first = token('skipped-log-token-first', ['catalog[3].endpoints[0]']);
    reportSkipped(logger, first, 'billing');
    reportSkipped(logger, first, 'billing');
    reportSkipped(logger, token('skipped-log-token-clean'), 'billing');
    assert.deepEqual(lines.map((l) => [l.level, l.message, l.profile, l.skipped]), [['WARN', 'Identity answer: unusable entries skipped', 'billing', ['catalog[3].endpoints[0]']]]);
    for (let i = 0; i < 64; i++) reportSkipped(logger, token(`skipped-log-token-${i}`, ['tenant.name']), 'billing');
    reportSkipped(logger, first, 'billing');
    reportSkipped(logger, token('skipped-log-token-63', ['tenant.name']), 'billing');
    assert.equal(lines.length, 1 + 64 + 1, 'the first token is reported again once the memory was cleared, the last one kept is not');
  });
});
