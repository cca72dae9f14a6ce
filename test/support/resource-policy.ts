// A small evaluator of IAM resource policies, enough for the API's: AWS/`*` principals, `*` globs in
// resources, and the ArnLike/ArnNotLike/StringEquals/StringNotEquals operators. It follows IAM's
// rules for these: an explicit Deny wins; values listed for one key are alternatives (OR); the keys
// and operators of one statement must all hold (AND); a `…Not…` operator holds when the key is absent.
// Used to check what the generated policy means, not only what it says.

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
  resource: string;
  orgId?: string | undefined;
  sourceVpce?: string | undefined;
}

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const glob = (pattern: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
const matchesAny = (patterns: string | string[], value: string) => list(patterns).some((p) => glob(p).test(value));

function principalMatches(principal: Statement['Principal'], arn: string): boolean {
  if (principal === '*') return true;
  const account = arn.split(':')[4];
  return list(principal.AWS).some((p) => p === arn || p === account || p === `arn:${arn.split(':')[1]}:iam::${account}:root`);
}

function conditionHolds(condition: Statement['Condition'], request: Request): boolean {
  const context: Record<string, string | undefined> = { 'aws:PrincipalArn': request.principalArn, 'aws:PrincipalOrgID': request.orgId, 'aws:SourceVpce': request.sourceVpce };
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => {
      if (!(key in context)) throw new Error(`the evaluator does not know condition key ${key}`);
      const actual = context[key];
      switch (operator) {
        case 'ArnLike': return actual !== undefined && matchesAny(values, actual);
        case 'ArnNotLike': return actual === undefined || !matchesAny(values, actual);
        case 'StringEquals': return actual !== undefined && list(values).includes(actual);
        case 'StringNotEquals': return actual === undefined || !list(values).includes(actual);
        default: throw new Error(`the evaluator does not know condition operator ${operator}`);
      }
    }),
  );
}

/** `allow`, `deny` (an explicit Deny matched) or `implicit-deny` (nothing allowed it) for execute-api:Invoke. */
export function evaluate(policy: Policy, request: Request): 'allow' | 'deny' | 'implicit-deny' {
  const applies = (s: Statement) =>
    list(s.Action).some((a) => a === 'execute-api:Invoke' || a === 'execute-api:*') &&
    matchesAny(s.Resource, request.resource) &&
    principalMatches(s.Principal, request.principalArn) &&
    conditionHolds(s.Condition, request);
  const matching = policy.Statement.filter(applies);
  if (matching.some((s) => s.Effect === 'Deny')) return 'deny';
  return matching.some((s) => s.Effect === 'Allow') ? 'allow' : 'implicit-deny';
}
