import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import middy from '@middy/core';
import { createLogger } from '../../functions/core/logger.ts';
import type { HttpResponse } from '../../functions/core/problem.ts';
import { metricFields } from '../../functions/token/metrics.ts';
import { vendResponses, type VendContext } from '../../functions/token/responses.ts';

describe('vendResponses: problem+json and one audit line per request', () => {
  it("still audits a failure raised before its own `before` ran (a middleware ahead of it), under request id 'unknown'", async () => {
    const lines: Array<{ level: string; message: string; audit: { requestId: string; status: number; reason: string } }> = [];
    const logger = createLogger({ sink: (line) => void lines.push(JSON.parse(line)) });
    const handler = middy<unknown, HttpResponse, Error, VendContext>(async () => ({ statusCode: 200, headers: {}, body: '{}' }))
      .before(() => {
        throw new Error('a middleware ahead failed');
      })
      .use(vendResponses(logger, (facts, status) => metricFields(facts, status, 'test', false, 0)));
    const answer = await handler({}, { awsRequestId: 'lambda-request-1' } as VendContext);
    assert.equal(answer.statusCode, 500);
    const audit = lines.find((l) => l.message === 'vend');
    assert.deepEqual([audit?.level, audit?.audit.requestId, audit?.audit.status, audit?.audit.reason], ['WARN', 'unknown', 500, 'unexpected error']);
  });
});
