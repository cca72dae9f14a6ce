import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../functions/core/errors.ts';
import { parseEvent, parseQuery } from '../../functions/token/request.ts';

const badParameter = (fn: () => unknown, parameter: string, detail: RegExp) =>
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.extensions.parameter, parameter);
    assert.match(error.message, detail);
    return true;
  });

describe('Function: parseQuery', () => {
  it('defaults to a token only, minTtl 300', () => {
    assert.deepEqual(parseQuery({}), { minTtl: 300, endpoint: null });
  });

  it('reads every parameter', () => {
    assert.deepEqual(parseQuery({ service: 'rax:dns', region: 'dfw', interface: 'internal', version: '1.0', minTtl: '3600' }), {
      minTtl: 3600,
      endpoint: { service: 'rax:dns', region: 'dfw', interface: 'internal', version: '1.0' },
    });
  });

  it('names the parameter and what is allowed for each bad input', () => {
    badParameter(() => parseQuery({ regoin: 'DFW' }), 'regoin', /Unknown query parameter 'regoin'; allowed: service, region, interface, version, minTtl/);
    badParameter(() => parseQuery({ minTtl: '59' }), 'minTtl', /from 60 to 3600; got 59/);
    badParameter(() => parseQuery({ minTtl: '3601' }), 'minTtl', /got 3601/);
    badParameter(() => parseQuery({ minTtl: '5m' }), 'minTtl', /whole seconds/);
    badParameter(() => parseQuery({ service: 'cloudFiles', interface: 'private' }), 'interface', /'public' or 'internal'/);
    badParameter(() => parseQuery({ service: 'cloudFiles', region: 'dfw,ord' }), 'region', /region code/);
    badParameter(() => parseQuery({ service: '' }), 'service', /catalog service name/);
    badParameter(() => parseQuery({ region: 'DFW' }), 'region', /only together with 'service'/);
    badParameter(() => parseQuery({ version: '2' }), 'version', /only together with 'service'/);
    badParameter(() => parseQuery({ interface: 'internal' }), 'interface', /^Query parameter 'interface' applies only together with 'service'\.$/);
    badParameter(() => parseQuery({ service: 'cloudBigData', version: '2,1' }), 'version', /versionId/);
  });

  it('accepts service names of printable characters with inner spaces, up to 64', () => {
    for (const service of ['Cloud DNS', 'Cloud Auth Service', 'DNS-as-a-Service', 'rax:object-cdn', 'Nuage Öffentlich', 'x'.repeat(64)]) {
      assert.equal(parseQuery({ service }).endpoint?.service, service);
    }
  });

  it('refuses service names with control characters, outer spaces, commas or more than 64 characters', () => {
    for (const service of ['Cloud\u0007DNS', 'Cloud\tDNS', 'Cloud\nDNS', ' Cloud DNS', 'Cloud DNS ', 'Cloud\u2028DNS', 'cloudFiles,cloudFiles', 'x'.repeat(65), '\u200Bx']) {
      badParameter(() => parseQuery({ service }), 'service', /1-64 printable characters/);
    }
  });

  it('refuses __proto__, constructor and other Object.prototype names like any unknown parameter', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const raw = JSON.parse(`{"${name}":"x","service":"cloudFiles"}`) as Record<string, unknown>;
      badParameter(() => parseQuery(raw), name, /Unknown query parameter/);
    }
  });

  it('quotes odd input short and without control characters', () => {
    badParameter(() => parseQuery({ service: `x\u0000${'a'.repeat(500)}` }), 'service', /got 'x\?a{38}…'/);
  });

  it('quotes a name of exactly 40 characters whole, and names a longer unknown parameter by its first 40', () => {
    badParameter(() => parseQuery({ ['a'.repeat(40)]: 'x' }), 'a'.repeat(40), new RegExp(`^Unknown query parameter '${'a'.repeat(40)}'; allowed`));
    badParameter(() => parseQuery({ [`${'b'.repeat(40)}${'c'.repeat(10)}`]: 'x' }), 'b'.repeat(40), new RegExp(`^Unknown query parameter '${'b'.repeat(40)}…'; allowed`));
  });

  it('refuses a value that is not a string, even one that reads as a valid value once turned into text', () => {
    badParameter(() => parseQuery({ service: 'cloudFiles', region: ['dfw'] }), 'region', /^Query parameter 'region' must be a region code such as DFW \(any case\); got 'dfw'\.$/);
    badParameter(() => parseQuery({ minTtl: 300 }), 'minTtl', /^Query parameter 'minTtl' must be whole seconds from 60 to 3600; got '300'\.$/);
  });
});

describe('Function: parseEvent', () => {
  const event = (profile: string | undefined, iam?: unknown) => ({
    requestContext: { requestId: 'req-1', authorizer: iam === undefined ? undefined : { iam } },
    pathParameters: profile === undefined ? undefined : { profile },
  });

  it('reads the caller, the profile and the request id', () => {
    const parsed = parseEvent(event('billing', { userArn: 'arn:aws:sts::123456789012:assumed-role/r/s' }));
    assert.deepEqual([parsed.requestId, parsed.callerArn, parsed.profile], ['req-1', 'arn:aws:sts::123456789012:assumed-role/r/s', 'billing']);
  });

  it("gives the request id 'unknown' when the event carries none", () => {
    assert.equal(parseEvent({ pathParameters: { profile: 'billing' } }).requestId, 'unknown');
    assert.equal(parseEvent({ requestContext: {}, pathParameters: { profile: 'billing' } }).requestId, 'unknown');
  });

  it('refuses a query that is not an object (text, a list, a number) as not an API Gateway event, with a 400', () => {
    for (const query of ['service=cloudFiles', [], ['cloudFiles'], 7]) {
      badParameter(() => parseEvent({ pathParameters: { profile: 'billing' }, queryStringParameters: query }), 'event', /REST API \(payload 1.0\) or HTTP API/);
      badParameter(() => parseEvent({ pathParameters: { profile: 'billing' }, multiValueQueryStringParameters: query }), 'event', /REST API \(payload 1.0\) or HTTP API/);
    }
  });

  it('gives a null caller when the IAM context is missing', () => {
    assert.equal(parseEvent(event('billing')).callerArn, null);
    assert.equal(parseEvent(event('billing', null)).callerArn, null);
  });

  it('hands parseQuery a __proto__ query key as it came, so it is refused', () => {
    const raw = JSON.parse('{"pathParameters":{"profile":"demo"},"queryStringParameters":{"__proto__":"x"}}') as unknown;
    const { query } = parseEvent(raw);
    assert.deepEqual(Object.keys(query), ['__proto__']);
    badParameter(() => parseQuery(query), '__proto__', /Unknown query parameter '__proto__'/);
  });

  it('refuses a malformed profile or an event of another shape with a 400', () => {
    badParameter(() => parseEvent(event('Bad/Name')), 'profile', /Path parameter 'profile'/);
    badParameter(() => parseEvent(event(undefined)), 'profile', /got ''/);
    badParameter(() => parseEvent('not an event'), 'event', /REST API \(payload 1.0\) or HTTP API \(payload 2.0\)/);
  });
});

describe('Function: parseEvent with a REST API (payload 1.0) event', () => {
  const caller = 'arn:aws:sts::123456789012:assumed-role/billing-export/i-0abc';
  // As API Gateway's REST API passes it to a Lambda proxy integration with AWS_IAM authorization.
  const restEvent = (extra: Record<string, unknown> = {}) => ({
    resource: '/v1/profiles/{profile}/token',
    httpMethod: 'GET',
    pathParameters: { profile: 'billing' },
    requestContext: { requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', authorizer: null, identity: { userArn: caller, accountId: '123456789012', caller: 'AROAEXAMPLE:i-0abc' } },
    ...extra,
  });

  it('reads the caller from requestContext.identity.userArn, with the profile and request id', () => {
    const parsed = parseEvent(restEvent({ queryStringParameters: { service: 'cloudFiles' }, multiValueQueryStringParameters: { service: ['cloudFiles'] } }));
    assert.deepEqual(
      [parsed.requestId, parsed.callerArn, parsed.profile, parsed.query],
      ['c6af9ac6-7b61-11e6-9a41-93e8deadbeef', caller, 'billing', { service: 'cloudFiles' }],
    );
  });

  it('gives a null caller when the identity has no userArn (an unsigned request reaching the function)', () => {
    assert.equal(parseEvent(restEvent({ requestContext: { requestId: 'r', identity: { userArn: null, sourceIp: '192.0.2.1' } } })).callerArn, null);
    assert.equal(parseEvent(restEvent({ requestContext: { requestId: 'r', identity: null } })).callerArn, null);
  });

  it('joins a repeated query key as payload 2.0 does, so it is refused instead of one value winning', () => {
    const parsed = parseEvent(restEvent({ queryStringParameters: { service: 'cloudFiles', region: 'ord' }, multiValueQueryStringParameters: { service: ['cloudFiles'], region: ['dfw', 'ord'] } }));
    assert.deepEqual(parsed.query, { service: 'cloudFiles', region: 'dfw,ord' });
    badParameter(() => parseQuery(parsed.query), 'region', /got 'dfw,ord'/);
  });

  it('takes a key given once, or a multi-value entry API Gateway would not write (not a list of strings), from queryStringParameters as it is', () => {
    const query = { service: 'cloudFiles', region: 'ord', interface: 'public' };
    const parsed = parseEvent(restEvent({ queryStringParameters: query, multiValueQueryStringParameters: { region: ['dfw'], service: 'cloudFiles', interface: ['public', 5] } }));
    assert.deepEqual(parsed.query, query);
  });

  it('keeps a repeated key named __proto__ a plain key, for parseQuery to refuse', () => {
    const parsed = parseEvent(restEvent({ queryStringParameters: JSON.parse('{"__proto__":"b"}'), multiValueQueryStringParameters: JSON.parse('{"__proto__":["a","b"]}') }));
    assert.deepEqual([Object.keys(parsed.query), Object.getPrototypeOf(parsed.query)], [['__proto__'], Object.prototype]);
    badParameter(() => parseQuery(parsed.query), '__proto__', /Unknown query parameter '__proto__'/);
  });
});
