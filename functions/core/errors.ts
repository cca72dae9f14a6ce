/**
 * One small error hierarchy. Every error a caller may see carries its HTTP status and
 * whether its detail may be shown (`expose`, as in middy: only below 500, plus the
 * 502/503 family whose details we write ourselves and know to hold no secret).
 */
export abstract class VendError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** Problem type slug, appended to the problem type base URI. */
  abstract readonly slug: string;
  /** Extra problem members (RFC 9457 extensions) such as `available` or `candidates`. */
  readonly extensions: Record<string, unknown> = {};
  /** Which dependency failed (502/503), for the audit line and the alarms built on it. */
  readonly upstream: Upstream | null;

  constructor(detail: string, options?: UpstreamErrorOptions) {
    super(detail, options);
    this.upstream = options?.upstream ?? null;
  }
}

export type Upstream = 'identity' | 'secrets-manager';
export type UpstreamErrorOptions = ErrorOptions & { upstream?: Upstream | null };

/** 400: a request parameter is malformed or unknown. */
export class BadRequestError extends VendError {
  readonly status = 400;
  readonly title = 'Bad request';
  readonly slug = 'bad-request';
  constructor(detail: string, parameter: string) {
    super(detail);
    this.extensions.parameter = parameter;
  }
}

/** 403: the caller may not use the profile, or the profile does not exist (same answer on purpose). */
export class ForbiddenError extends VendError {
  readonly status = 403;
  readonly title = 'Forbidden';
  readonly slug = 'forbidden';
  /** For the audit log only; the caller always sees the same detail. */
  readonly reason: string;
  constructor(reason: string) {
    super('The caller may not obtain a token for this profile.');
    this.reason = reason;
  }
}

/** 404: the catalog has no such service, region, version or interface. */
export class EndpointNotFoundError extends VendError {
  readonly status = 404;
  readonly title = 'Endpoint not found';
  readonly slug = 'endpoint-not-found';
  constructor(detail: string, missing: 'service' | 'region' | 'version' | 'interface', available: unknown[]) {
    super(detail);
    Object.assign(this.extensions, { missing, available });
  }
}

/** 409: several endpoints match and nothing narrows them to one. */
export class AmbiguousEndpointError extends VendError {
  readonly status = 409;
  readonly title = 'Ambiguous endpoint';
  readonly slug = 'ambiguous-endpoint';
  constructor(detail: string, candidates: unknown[]) {
    super(detail);
    this.extensions.candidates = candidates;
  }
}

/** 502: the custodied credentials cannot be used (Identity rejected them, or the secret is unusable). */
export class CredentialsUnusableError extends VendError {
  readonly status = 502;
  readonly title: string = 'Custodied credentials unusable';
  readonly slug: string = 'credentials-unusable';
  constructor(detail: string, options: UpstreamErrorOptions & { upstream: Upstream | null }) {
    super(detail, options);
  }
}

/**
 * 502: Identity accepted the credentials, but its user holds roles the profile does not allow
 * (core/role-guard.ts). Its own problem type: the fix is a different Rackspace user or a
 * declaration, not a key. No upstream failed (`upstream` null), so it is not an Identity failure.
 */
export class CredentialsOverprivilegedError extends CredentialsUnusableError {
  override readonly title = 'Custodied credentials overprivileged';
  override readonly slug = 'credentials-overprivileged';
  /** The roles held that the profile does not allow: role names, never secrets. */
  readonly unexpectedRoles: readonly string[];
  constructor(detail: string, unexpectedRoles: readonly string[]) {
    super(detail, { upstream: null });
    this.unexpectedRoles = unexpectedRoles;
    this.extensions.unexpectedRoles = [...unexpectedRoles];
  }
}

/**
 * 502: Identity refused the credentials themselves (HTTP 400, 401 or 403). `credentials` is the
 * tag (never the value) of what was refused, set by the vendor so a 401 can be remembered and the
 * same key is not sent again.
 */
export class CredentialsRefusedError extends CredentialsUnusableError {
  readonly identityStatus: number;
  credentials: string | null = null;
  constructor(identityStatus: number, detail: string, options?: ErrorOptions) {
    super(detail, { ...options, upstream: 'identity' });
    this.identityStatus = identityStatus;
  }
}

/**
 * 502: Identity answered in a way only a configuration change fixes (a wrong Identity URL path, a
 * redirect). The same problem type as unusable credentials: the Identity URL is part of what is
 * custodied (or configured), the caller can do nothing about it, an operator must.
 */
export class UpstreamMisconfiguredError extends CredentialsUnusableError {}

/**
 * 500: the function's own deployment is wrong (no AWS credentials, no region): nothing upstream is
 * down and retrying will not help, so it is neither a 502 nor a 503. The caller's body is fixed;
 * the reason goes to the log via `cause`.
 */
export class ServiceMisconfiguredError extends VendError {
  readonly status = 500;
  readonly title = 'Service misconfigured';
  readonly slug = 'service-misconfigured';
  constructor(options: UpstreamErrorOptions) {
    super('The service is misconfigured; its operators must fix it. The service log has the reason.', options);
  }
}

/** 503: Identity or Secrets Manager is unreachable, failing or rate-limiting; try again later. */
export class UpstreamUnavailableError extends VendError {
  readonly status = 503;
  readonly title = 'Upstream unavailable';
  readonly slug = 'upstream-unavailable';
  readonly retryAfterSeconds: number;
  /** Whether the upstream itself said when to come back (Retry-After), rather than our default. */
  readonly retryAfterGiven: boolean;
  constructor(detail: string, retryAfterSeconds: number, options: ErrorOptions & { upstream: Upstream | null; retryAfterGiven?: boolean }) {
    super(detail, { ...(options.cause !== undefined && { cause: options.cause }), ...(options.upstream && { upstream: options.upstream }) });
    this.retryAfterSeconds = retryAfterSeconds;
    this.retryAfterGiven = options.retryAfterGiven ?? false;
  }
}

/**
 * 503: the request's deadline passed while waiting on `upstream`. Answered (with its audit line)
 * before the Lambda timeout, so API Gateway never answers for us.
 */
export class DeadlineExceededError extends UpstreamUnavailableError {
  /** `upstream`: what the request was waiting on; `null` when not known (middy's last-resort timeout). */
  constructor(upstream: Upstream | null, options?: ErrorOptions) {
    const what = upstream === 'identity' ? 'Rackspace Identity' : upstream === 'secrets-manager' ? 'Secrets Manager' : 'the upstream services';
    super(`No answer from ${what} within this request's time; try again shortly.`, 1, { ...options, upstream });
  }
}
