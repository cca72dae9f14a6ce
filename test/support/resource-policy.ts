import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';

// What the REST API's resource policy decides, by a maintained IAM simulator (@cloud-copilot/iam-simulate)
// rather than an evaluator of our own: principals, ARN globs, condition operators and the rule
// that an explicit Deny wins are its, not ours to get right.
//
// `decide` asks about the resource policy alone: the caller's own IAM policy allows everything and
// the API lives in an account of its own (API_ACCOUNT), so the request is cross-account and the
// answer is the resource policy's (IAM allows a cross-account request only when both allow).
// `simulate` asks the whole question (identity policy, same account or not), for the rule that
// every caller needs an execute-api:Invoke statement of its own.
// (The simulator drops kms:EncryptionContext:* condition keys in the version we use, so the KMS
// key policy's conditions are checked by shape in test/infra/template.test.ts, not simulated.)

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: '*' | { AWS: string | string[] };
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface Policy {
  Version: string;
  Statement: Statement[];
}
export interface Request {
  /** The caller's role ARN (aws:PrincipalArn), e.g. arn:aws:iam::123456789012:role/billing. */
  principalArn: string;
  /** As API Gateway's resource policies write it: execute-api:/STAGE/METHOD/PATH. */
  resource: string;
  orgId?: string | undefined;
  sourceVpce?: string | undefined;
}
export type Decision = 'allow' | 'deny' | 'implicit-deny';

/** An account no test principal belongs to. */
export const API_ACCOUNT = '999999999999';
const API_ID = 'a1b2c3d4e5';

/** API Gateway's `execute-api:/…` shorthand as the full ARN it stands for in the API's account. */
export const apiArn = (resource: string, account = API_ACCOUNT) => resource.replace(/^execute-api:\//, `arn:aws:execute-api:us-east-1:${account}:${API_ID}/`);
const withArns = (policy: Policy, account: string): Policy => ({
  ...policy,
  Statement: policy.Statement.map((s) => ({ ...s, Resource: Array.isArray(s.Resource) ? s.Resource.map((r) => apiArn(r, account)) : apiArn(s.Resource, account) })),
});

const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }] };

/**
 * The simulator's decision on execute-api:Invoke: the resource policy, the caller's identity policy
 * (none: the caller has no statement of its own), and the API's account.
 */
export async function simulate(policy: Policy, request: Request, options: { identityPolicy?: object | null; apiAccount?: string } = {}): Promise<Decision> {
  const account = options.apiAccount ?? API_ACCOUNT;
  const identity = options.identityPolicy === undefined ? ALLOW_ALL : options.identityPolicy;
  const context: Record<string, string> = { 'aws:PrincipalArn': request.principalArn };
  if (request.orgId !== undefined) context['aws:PrincipalOrgID'] = request.orgId;
  if (request.sourceVpce !== undefined) context['aws:SourceVpce'] = request.sourceVpce;
  const simulation = {
    identityPolicies: identity ? [{ name: 'caller', policy: identity }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: withArns(policy, account),
    request: { action: 'execute-api:Invoke', principal: request.principalArn, resource: { accountId: account, resource: apiArn(request.resource, account) }, contextVariables: context },
  } as unknown as Simulation;
  const answer = await runSimulation(simulation, {});
  if (answer.resultType === 'error') throw new Error(`the simulator refused the question: ${JSON.stringify(answer.errors)}`);
  return ({ Allowed: 'allow', ExplicitlyDenied: 'deny', ImplicitlyDenied: 'implicit-deny' } as const)[answer.overallResult as 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied'];
}

/** `allow`, `deny` (an explicit Deny matched) or `implicit-deny` (nothing allowed it): the resource policy's own decision. */
export function evaluate(policy: Policy, request: Request): Promise<Decision> {
  return simulate(policy, request);
}
