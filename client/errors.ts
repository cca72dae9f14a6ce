import * as z from 'zod/mini';

/** The problem type URNs the service answers with (RFC 9457 `type`). */
export const PROBLEM_TYPE_BASE = 'urn:rackspace-token-vendor:problem:';

/**
 * Anything the token vendor (or API Gateway in front of it) refused or failed to answer. `status`
 * is the HTTP status (0 when no answer came); `type`, `title` and `detail` are the problem's.
 */
export class TokenVendorError extends Error {
  readonly status: number;
  readonly type: string | null;
  readonly title: string;
  readonly detail: string;
  /** Every member of the problem+json body (`parameter`, `available`, `candidates`…). */
  readonly problem: Readonly<Record<string, unknown>>;

  constructor(status: number, title: string, detail: string, options: { type?: string | null; problem?: Record<string, unknown>; cause?: unknown } = {}) {
    super(`${title}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.type = options.type ?? null;
    this.title = title;
    this.detail = detail;
    this.problem = options.problem ?? {};
  }
}

/** 400: a parameter is malformed or unknown; `parameter` names it. */
export class BadRequestError extends TokenVendorError {
  get parameter(): string | undefined {
    return typeof this.problem.parameter === 'string' ? this.problem.parameter : undefined;
  }
}
/** 403 from the service: the caller may not use this profile, or it does not exist (one answer for both). */
export class ForbiddenError extends TokenVendorError {}
/** 404: the catalog has no such service, region or interface; `problem.available` lists what it has. */
export class EndpointNotFoundError extends TokenVendorError {}
/** 409: several endpoints match; `problem.candidates` lists them. */
export class AmbiguousEndpointError extends TokenVendorError {}
/** 502: Identity refused the custodied credentials; an operator must fix the secret. Retrying does not help. */
export class CredentialsUnusableError extends TokenVendorError {}
/**
 * 502 `credentials-overprivileged`: the profile's Rackspace user holds roles the profile does not
 * allow, so the service vends no token for it. A {@link CredentialsUnusableError} (code that
 * handles every unusable-credentials case keeps working); an operator must custody a
 * least-privilege user or fix the declaration. Retrying does not help.
 */
export class CredentialsOverprivilegedError extends CredentialsUnusableError {
  /** The roles the service refused (role names, not secrets). */
  get unexpectedRoles(): string[] {
    const roles = this.problem.unexpectedRoles;
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
  }
}
/** 503 (after the one retry), or no answer at all: try again later. */
export class UnavailableError extends TokenVendorError {
  /** Seconds the service asked callers to wait (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | null;
  constructor(status: number, title: string, detail: string, options: ConstructorParameters<typeof TokenVendorError>[3] & { retryAfterSeconds?: number | null } = {}) {
    super(status, title, detail, options);
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }
}
/**
 * API Gateway's own refusal, before the service ran: a plain `{"message": …}` body, no problem
 * type. 403 means the request was unsigned, badly signed, signed too long ago, or the caller's IAM
 * identity may not invoke the route; `errorType` is API Gateway's `x-amzn-ErrorType`.
 */
export class GatewayError extends TokenVendorError {
  readonly errorType: string | null;
  constructor(status: number, message: string, errorType: string | null) {
    super(status, 'API Gateway refused the request', message, { problem: { message } });
    this.errorType = errorType;
  }
}

const BY_SLUG: Record<string, new (...args: ConstructorParameters<typeof TokenVendorError>) => TokenVendorError> = {
  'bad-request': BadRequestError,
  forbidden: ForbiddenError,
  'endpoint-not-found': EndpointNotFoundError,
  'ambiguous-endpoint': AmbiguousEndpointError,
  'credentials-unusable': CredentialsUnusableError,
  'credentials-overprivileged': CredentialsOverprivilegedError,
  'upstream-unavailable': UnavailableError,
};

const Problem = z.looseObject({ type: z.string(), title: z.string(), status: z.number(), detail: z.optional(z.string()) });
const GatewayMessage = z.looseObject({ message: z.string() });
const GatewayMessageCapital = z.looseObject({ Message: z.string() });

/**
 * The typed error for a non-200 answer: a problem+json body maps by its `type`, a plain-JSON body
 * is API Gateway's own, anything else keeps its status and says what came back.
 */
export function errorFromAnswer(status: number, headers: Headers, text: string, retryAfterSeconds: number | null): TokenVendorError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem = Problem.safeParse(body);
  if (problem.success) {
    const { type, title, detail = '' } = problem.data;
    const slug = type.startsWith(PROBLEM_TYPE_BASE) ? type.slice(PROBLEM_TYPE_BASE.length) : '';
    const options = { type, problem: problem.data };
    if (slug === 'upstream-unavailable') return new UnavailableError(status, title, detail, { ...options, retryAfterSeconds });
    const Kind = Object.hasOwn(BY_SLUG, slug) ? BY_SLUG[slug] : undefined;
    return Kind ? new Kind(status, title, detail, options) : new TokenVendorError(status, title, detail, options);
  }
  // API Gateway writes `message`; its IAM policy denials have been seen with `Message`.
  const gateway = GatewayMessage.safeParse(body);
  const capital = GatewayMessageCapital.safeParse(body);
  const message = gateway.success ? gateway.data.message : capital.success ? capital.data.Message : null;
  if (message !== null) {
    if (status === 503 || status === 504) return new UnavailableError(status, 'API Gateway unavailable', message, { retryAfterSeconds });
    return new GatewayError(status, message, headers.get('x-amzn-errortype'));
  }
  return new TokenVendorError(status, `Unexpected answer (HTTP ${status})`, `The answer was not JSON the token vendor writes: ${text.slice(0, 120).replace(/[\p{C}]/gu, '?')}`);
}
