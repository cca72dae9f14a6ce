import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { authorize } from '../../functions/core/authorize.ts';
import { loadProfiles } from '../../functions/core/profiles.ts';
import { evaluate, type Policy } from '../support/resource-policy.ts';

// The generators behind the packaged template (test/infra/template.test.ts packages it), checked
// here without packaging: fast, and over many declarations rather than the one in the repository.
const require = createRequire(import.meta.url);
const { resourcePolicyFrom, restApiResources } = require('../../infra/rest-api.cjs') as {
  resourcePolicyFrom: (declaration: unknown, options: { stage: string; orgId: string; vpcEndpointIds: string[] }) => Policy;
  restApiResources: (declaration: unknown, settings: Record<string, unknown>) => { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
};
type Resolver = (name: string) => Promise<unknown>;
const params = require('../../infra/params.cjs') as Record<string, (context: { resolveVariable: Resolver }) => Promise<unknown>>;

/** Resolves `param:NAME` (or `param:NAME, null`) from the given values, as osls would from --param. */
const given = (values: Record<string, string>) => ({
  resolveVariable: async (name: string) => {
    const key = name.replace(/^param:/, '').replace(/, null$/, '');
    if (!(key in values)) throw new Error(`unexpected ${name}`);
    return values[key];
  },
});
const declaration = (...allow: string[][]) => ({ profiles: allow.map((roles, i) => ({ name: `p${i}`, secretId: `s${i}`, allow: roles })) });
const route = (profile: string) => `execute-api:/prod/GET/v1/profiles/${profile}/token`;

describe('infra/rest-api.cjs: the resource policy means what the function allows', () => {
  const account = fc.constantFrom('111111111111', '222222222222', '333333333333');
  // Few names, so callers often do match an entry (a random caller almost never would).
  const word = fc.constantFrom('ci-', 'ci-x', 'billing', 'billing-export', 'admin');
  const pattern = fc.tuple(account, word, fc.boolean(), fc.boolean()).map(([acct, name, star, pathed]) => `arn:aws:iam::${acct}:role/${pathed ? 'svc/' : ''}${name}${star ? '*' : ''}`);
  const caller = fc.tuple(account, word, fc.option(word, { nil: undefined }), fc.boolean());

  it('lets through every caller some profile allows (with or without a role path), and refuses callers of other accounts', async () => {
    const seen = { allowed: 0, otherAccount: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(pattern, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), caller, async (allow, [acct, name, suffix, pathed]) => {
        const decl = declaration(...allow);
        const profiles = loadProfiles(decl);
        const roleName = `${name}${suffix ?? ''}`;
        const principalArn = `arn:aws:iam::${acct}:role/${pathed ? 'team/' : ''}${roleName}`;
        const sessionArn = `arn:aws:sts::${acct}:assumed-role/${roleName}/session`;
        const policy = resourcePolicyFrom(decl, { stage: 'prod', orgId: '', vpcEndpointIds: [] });
        const decision = await evaluate(policy, { principalArn, resource: route('p0') });
        const functionAllows = [...profiles.keys()].some((p) => {
          try {
            authorize(profiles, p, sessionArn);
            return true;
          } catch {
            return false;
          }
        });
        if (functionAllows) {
          seen.allowed++;
          assert.equal(decision, 'allow', `${principalArn} is allowed by the function, so by the policy`);
        }
        if (!allow.flat().some((entry) => entry.includes(`::${acct}:`))) {
          seen.otherAccount++;
          assert.equal(decision, 'deny', `${acct} is in no profile`);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(seen.allowed > 30 && seen.otherAccount > 30, `both cases were tried: ${JSON.stringify(seen)}`);
  });

  it('refuses a role of an allowed account whose name no entry matches', async () => {
    const policy = resourcePolicyFrom(declaration(['arn:aws:iam::111111111111:role/ci-*']), { stage: 'prod', orgId: '', vpcEndpointIds: [] });
    assert.equal(await evaluate(policy, { principalArn: 'arn:aws:iam::111111111111:role/ci-billing', resource: route('x') }), 'allow');
    assert.equal(await evaluate(policy, { principalArn: 'arn:aws:iam::111111111111:role/admin', resource: route('x') }), 'deny');
  });

  it('refuses what the function would refuse to start with: no profiles, a non-role entry, a * after fewer than 3 characters', () => {
    const policy = (decl: unknown) => () => resourcePolicyFrom(decl, { stage: 'prod', orgId: '', vpcEndpointIds: [] });
    assert.throws(policy({ profiles: [] }), /declares no profiles/);
    assert.throws(policy(declaration(['arn:aws:iam::111111111111:user/alice'])), /not an IAM role ARN/);
    assert.throws(policy(declaration(['arn:aws:iam::111111111111:role/*'])), /literal prefix of at least 3 characters/);
    assert.throws(policy(declaration(['arn:aws:iam::111111111111:role/ci*'])), /'arn:aws:iam::111111111111:role\/ci\*': a \* must follow/);
    assert.doesNotThrow(policy(declaration(['arn:aws:iam::111111111111:role/ci-*'])));
  });

  it("refuses a declaration whose policy would exceed API Gateway's 8,192 characters", () => {
    const roles = (n: number) => Array.from({ length: n }, (_, i) => `arn:aws:iam::111111111111:role/service-number-${i}`);
    assert.doesNotThrow(() => resourcePolicyFrom(declaration(roles(40)), { stage: 'prod', orgId: 'o-abcd123456', vpcEndpointIds: [] }));
    assert.throws(() => resourcePolicyFrom(declaration(roles(80)), { stage: 'prod', orgId: '', vpcEndpointIds: [] }), /would be \d+ characters; API Gateway accepts 8192/);
  });

  it('names the deployment after what it deploys: the same declaration gives the same id, another allow list another', () => {
    const settings = { service: 'svc', stage: 'prod', endpointType: 'REGIONAL', vpcEndpointIds: [], orgId: '', throttlingRateLimit: 50, throttlingBurstLimit: 100, logRetentionInDays: 30, apiGatewayLogRole: 'create' };
    const deploymentOf = (decl: unknown) => Object.keys(restApiResources(decl, settings).Resources).find((id) => id.startsWith('ApiGatewayDeployment'));
    const one = declaration(['arn:aws:iam::111111111111:role/a']);
    assert.equal(deploymentOf(one), deploymentOf(structuredClone(one)));
    assert.notEqual(deploymentOf(one), deploymentOf(declaration(['arn:aws:iam::111111111111:role/b'])));
  });
});

describe('infra/params.cjs: the REST API parameters', () => {
  const defaults = { endpointType: 'REGIONAL', vpcEndpointIds: '', orgId: '', throttlingRateLimit: '50', throttlingBurstLimit: '100', apiGatewayLogRole: 'create' };
  const resolve = (name: string, values: Partial<typeof defaults>) => params[name]!(given({ ...defaults, ...values }));

  it('reads the endpoint type (any case) with its VPC endpoint ids, de-duplicated', async () => {
    assert.deepEqual(await resolve('endpoint', {}), { endpointType: 'REGIONAL', vpcEndpointIds: [] });
    assert.deepEqual(await resolve('endpoint', { endpointType: 'private', vpcEndpointIds: 'vpce-0a1b2c3d4e5f60718, vpce-11112222,vpce-0a1b2c3d4e5f60718' }), {
      endpointType: 'PRIVATE',
      vpcEndpointIds: ['vpce-0a1b2c3d4e5f60718', 'vpce-11112222'],
    });
  });

  it('refuses PRIVATE without endpoints, endpoints without PRIVATE, other endpoint types and malformed ids', async () => {
    await assert.rejects(resolve('endpoint', { endpointType: 'PRIVATE' }), /PRIVATE needs --param=vpcEndpointIds/);
    await assert.rejects(resolve('endpoint', { vpcEndpointIds: 'vpce-0a1b2c3d4e5f60718' }), /applies only with --param=endpointType=PRIVATE \(got REGIONAL\)/);
    await assert.rejects(resolve('endpoint', { endpointType: 'EDGE' }), /must be one of REGIONAL, PRIVATE, got 'EDGE'/);
    await assert.rejects(resolve('endpoint', { endpointType: 'PRIVATE', vpcEndpointIds: 'vpce-0a1b2c3d4e5f60718,,' }), /got ''/);
    await assert.rejects(resolve('endpoint', { endpointType: 'PRIVATE', vpcEndpointIds: 'vpc-0a1b2c3d' }), /got 'vpc-0a1b2c3d'/);
  });

  it('takes an organisation id or nothing', async () => {
    assert.equal(await resolve('orgId', { orgId: ' o-abcd123456 ' }), 'o-abcd123456');
    assert.equal(await resolve('orgId', {}), '');
    await assert.rejects(resolve('orgId', { orgId: 'r-abcd' }), /organization id \(o-abcd123456\), got 'r-abcd'/);
  });

  it('bounds the stage throttle by API Gateway account limits', async () => {
    assert.deepEqual([await resolve('throttlingRateLimit', { throttlingRateLimit: '10000' }), await resolve('throttlingBurstLimit', { throttlingBurstLimit: '1' })], [10_000, 1]);
    await assert.rejects(resolve('throttlingRateLimit', { throttlingRateLimit: '0' }), /from 1 to 10000, got '0'/);
    await assert.rejects(resolve('throttlingRateLimit', { throttlingRateLimit: '10001' }), /got '10001'/);
    await assert.rejects(resolve('throttlingBurstLimit', { throttlingBurstLimit: '5001' }), /from 1 to 5000, got '5001'/);
    await assert.rejects(resolve('throttlingBurstLimit', { throttlingBurstLimit: '2.5' }), /whole number/);
  });

  it("takes apiGatewayLogRole 'existing' (the default: no account-wide change) or 'create' only", async () => {
    assert.equal(await resolve('apiGatewayLogRole', { apiGatewayLogRole: 'existing' }), 'existing');
    assert.equal(await resolve('apiGatewayLogRole', { apiGatewayLogRole: 'create' }), 'create');
    await assert.rejects(resolve('apiGatewayLogRole', { apiGatewayLogRole: 'yes' }), /must be one of existing, create, got 'yes'/);
  });
});
