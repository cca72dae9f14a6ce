import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../functions/core/logger.ts';
import { markSensitive } from '../../functions/core/sensitive.ts';

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ sink: (line) => lines.push(line) }) };
}

describe('The audit writer (logger.always)', () => {
  it('writes the standard keys first, then the attributes, then the trusted members, as one JSON object', () => {
    const { lines, logger } = capture();
    logger.always('WARN', 'vend', { audit: { status: 503 }, Vend: 1 }, '"_aws":{"Timestamp":5,"CloudWatchMetrics":[]}');
    const line = JSON.parse(lines[0] as string);
    assert.deepEqual(Object.keys(line), ['level', 'message', 'timestamp', 'service', 'audit', 'Vend', '_aws']);
    assert.deepEqual([line.level, line.message, line.service, line.audit, line.Vend, line._aws], ['WARN', 'vend', 'rackspace-token-vendor', { status: 503 }, 1, { Timestamp: 5, CloudWatchMetrics: [] }]);
    assert.ok(Math.abs(Date.parse(line.timestamp) - Date.now()) < 60_000);
  });

  it('carries the X-Ray trace id of the invocation, as Powertools does', () => {
    const { lines, logger } = capture();
    process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    try {
      logger.always('INFO', 'vend', {});
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
    logger.always('INFO', 'vend', {});
    assert.deepEqual(lines.map((l) => JSON.parse(l).xray_trace_id), ['1-5759e988-bd862e3fe1be46a994272793', undefined]);
  });

  it('still writes the line when the trace header has no Root', () => {
    const { lines, logger } = capture();
    process.env._X_AMZN_TRACE_ID = 'Parent=53995c3f42cd8ad8;Sampled=1';
    try {
      logger.always('WARN', 'vend', { audit: { status: 503 } });
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
    assert.deepEqual(lines.map((l) => [JSON.parse(l).message, JSON.parse(l).xray_trace_id]), [['vend', undefined]]);
  });

  it('passes the attributes through the redaction, so a registered secret inside them is blanked', () => {
    const { lines, logger } = capture();
    const secret = 'an-api-key-0123456789abcdef';
    markSensitive('logger test key', secret);
    logger.always('ERROR', 'vend', { audit: { reason: `refused ${secret}` }, password: 'hunter2-hunter2' });
    assert.ok(!(lines[0] as string).includes(secret) && !(lines[0] as string).includes('hunter2'));
    assert.deepEqual(JSON.parse(lines[0] as string).audit.reason, 'refused [REDACTED]');
  });
});

describe('Function: createLogger (default sink)', () => {
  it('writes each line to stdout, one JSON object per line', () => {
    const written: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      createLogger().info('to stdout', { n: 1 });
    } finally {
      process.stdout.write = write;
    }
    assert.equal(written.length, 1);
    assert.match(written[0] ?? '', /\n$/);
    assert.deepEqual([JSON.parse(written[0] ?? '{}').message, JSON.parse(written[0] ?? '{}').n], ['to stdout', 1]);
  });
});
