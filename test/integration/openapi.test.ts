import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OPENAPI_FILE, documentText } from '../../client/openapi.ts';
import { DEMO_USER } from '../emulators/identity.ts';
import { demosClosedAfterEach } from '../support/demos.ts';
import { call } from '../support/events.ts';

// client/openapi.json: generated, current, valid OpenAPI 3.1, and true to what the handler answers.

const committed = readFileSync(OPENAPI_FILE, 'utf8');
const document = JSON.parse(committed);
const operation = document.paths['/v1/profiles/{profile}/token'].get;
const startDemo = demosClosedAfterEach();

/** Checks a body against the document's schema for that status and media type (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). */
function conforms(status: number, mediaType: string, body: unknown): void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: document.components });
  const schema = operation.responses[String(status)]?.content?.[mediaType]?.schema;
  assert.ok(schema, `the document has no ${mediaType} schema for ${status}`);
  // References point into the components, also inside an anyOf (a status with several problem types).
  const ref = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'));
  const valid = ajv.validate(ref, body);
  assert.ok(valid, `${status} ${mediaType}: ${ajv.errorsText(ajv.errors)}\n${JSON.stringify(body)}`);
}

describe('OpenAPI document', () => {
  it('is what `npm run openapi` generates from the current schemas (run it after changing them)', () => {
    assert.equal(committed, documentText());
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document);
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
  });

  it('states the SigV4 security scheme, every query parameter with its pattern, and the defaults that are values', () => {
    assert.deepEqual(document.security, [{ sigv4: [] }]);
    assert.equal(document.components.securitySchemes.sigv4['x-amazon-apigateway-authtype'], 'awsSigv4');
    const query = Object.fromEntries(operation.parameters.filter((p: any) => p.in === 'query').map((p: any) => [p.name, p.schema]));
    assert.deepEqual(Object.keys(query).sort(), ['interface', 'minTtl', 'region', 'service', 'version']);
    assert.deepEqual([query.interface.default, query.minTtl.default, query.region.default], ['public', '300', undefined]);
    for (const [name, schema] of Object.entries<any>(query)) assert.ok(new RegExp(schema.pattern, 'u'), name);
    assert.equal(operation.responses['503'].headers['Retry-After'].required, true);
    assert.ok(operation.responses['200'].headers['X-Token-Degraded']);
  });

  it('describes the handler\'s real answers: the 200 and each problem, with its type URN', async () => {
    const demo = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {} });
    const ok = await call(demo.handler, { query: { service: 'cloudFiles', region: 'dfw', interface: 'internal' } });
    assert.equal(ok.statusCode, 200);
    conforms(200, 'application/json', ok.json);
    const tokenOnly = await call(demo.handler, {});
    conforms(200, 'application/json', tokenOnly.json);

    const problems = [
      await call(demo.handler, { query: { interface: 'private', service: 'cloudFiles' } }),
      await call(demo.handler, { caller: 'arn:aws:sts::000000000000:assumed-role/someone-else/you' }),
      await call(demo.handler, { query: { service: 'cloudFiles', region: 'syd' } }),
    ];
    const refusing = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {} });
    refusing.identity.setUser(DEMO_USER.username, { apiKey: 'rotated-elsewhere-0123456789' });
    problems.push(await call(refusing.handler, {}));
    const overprivileged = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {} });
    overprivileged.identity.setUser(DEMO_USER.username, { roles: ['identity:default', 'identity:user-admin'] });
    problems.push(await call(overprivileged.handler, {}));
    const failing = await startDemo({ env: { IDENTITY_ATTEMPTS: '1' }, sink: () => {} });
    failing.identity.injectFaults({ status: 500 });
    const unavailable = await call(failing.handler, {});
    problems.push(unavailable);
    assert.deepEqual(problems.map((answer) => answer.statusCode), [400, 403, 404, 502, 502, 503]);
    assert.deepEqual(problems.slice(3, 5).map((answer) => answer.json.type.split(':').pop()), ['credentials-unusable', 'credentials-overprivileged']);
    for (const answer of problems) {
      assert.equal(answer.headers['content-type'], 'application/problem+json');
      conforms(answer.statusCode, 'application/problem+json', answer.json);
    }
    assert.match(unavailable.headers['retry-after'] ?? '', new RegExp(operation.responses['503'].headers['Retry-After'].schema.pattern));
  });

  it('would reject an answer that breaks it (a wrong type URN for the status)', () => {
    const body = { type: 'urn:rackspace-token-vendor:problem:forbidden', title: 'Bad request', status: 400, detail: 'x', parameter: 'service' };
    assert.throws(() => conforms(400, 'application/problem+json', body), /must be equal to constant/);
  });
});
