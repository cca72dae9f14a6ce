import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { CredentialsOverprivilegedError, ForbiddenError, ServiceMisconfiguredError, VendError } from '../core/errors.ts';
import type { RedactingLogger } from '../core/logger.ts';
import { problemResponse, type HttpResponse } from '../core/problem.ts';
import { emptyFacts, type AuditFacts } from './audit.ts';
import type { MetricFields } from './metrics.ts';

/** The Embedded Metric Format members for one audit line (functions/token/metrics.ts). */
export type MetricsOf = (facts: AuditFacts, status: number) => MetricFields;

export interface VendContext extends Context {
  audit: AuditFacts;
}

/**
 * Turns every error into problem+json (a fixed 500 for the unexpected) and writes exactly one
 * audit line per request, allowed or denied. One middleware, so the order of the two is fixed.
 */
export function vendResponses(logger: RedactingLogger, metrics: MetricsOf): MiddlewareObj<unknown, HttpResponse, Error, VendContext> {
  return {
    before: (request) => {
      request.context.audit = emptyFacts(request.context.awsRequestId ?? 'unknown');
    },
    after: (request) => {
      // Stryker disable next-line OptionalChaining: `after` runs only once vend resolved, and vend always resolves with a response; the `?.` is for middy's type.
      audit(logger, metrics, request.context.audit, request.response?.statusCode ?? 500);
    },
    onError: (request) => {
      const { error } = request;
      const facts = request.context.audit ?? emptyFacts('unknown');
      if (error instanceof ForbiddenError) facts.reason = error.reason;
      else if (error instanceof VendError) {
        facts.reason = describe(error);
        facts.upstream = error.upstream;
        if (error instanceof CredentialsOverprivilegedError) facts.refusedRoles = [...error.unexpectedRoles];
      }
      else {
        facts.reason = 'unexpected error';
        logger.error('unexpected error', { requestId: facts.requestId, error });
      }
      request.response = problemResponse(error);
      // ERROR when operators must act and no retry helps: a broken deployment, or a user holding roles the profile refuses.
      audit(logger, metrics, facts, request.response.statusCode, error instanceof ServiceMisconfiguredError || error instanceof CredentialsOverprivilegedError);
    },
  };
}

function describe(error: Error): string {
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

function audit(logger: RedactingLogger, metrics: MetricsOf, facts: AuditFacts, status: number, misconfigured = false): void {
  // Nested: Powertools reserves top-level keys such as `service`. EMF needs its members at the top.
  const { members, directive } = metrics(facts, status);
  // Written whatever the log level: the audit trail is not debug output (docs/operations.md "Read the audit trail").
  // ERROR for a misconfigured deployment or an overprivileged user (operators must act; a bug has its
  // own ERROR line), WARN for other failures and degraded answers.
  const level = misconfigured ? 'ERROR' : status >= 500 || facts.degraded ? 'WARN' : 'INFO';
  // The metric members are our own metric names with numbers, the stage and a declared profile name:
  // nothing a secret can hide in, so they are serialised without the redaction pass, like the directive
  // (a replacer per key was a tenth of a warm vend).
  logger.always(level, 'vend', { audit: { ...facts, status } }, `${JSON.stringify(members).slice(1, -1)},${directive}`);
}
