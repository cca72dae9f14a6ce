'use strict';
// Everything `npm run package` (and deploy) must refuse, checked once, before any other variable is
// used: unknown or repeated --param names, every parameter's value, and the profile declaration
// (the function's own check, then what the stack derives from it). osls resolves variables in no
// fixed order and reports a rejected variable once per place it is used, inside its own stack
// traces; so every resolver of ours awaits this first (infra/guard.cjs), and a refusal prints one line
// per mistake and ends the process with exit code 1, before osls can say it again.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const params = require('./params.cjs');
const { parameters } = require('./limits.json');
const { declarationFile, declarationProblems, ROOT } = require('./declaration.cjs');

// The parameters with a default in serverless.yml `params:` (the others' are in limits.json).
const YAML_PARAMS = ['alarmTopicArn', 'endpointType', 'vpcEndpointIds', 'orgId', 'apiGatewayLogRole', 'sharedTier', 'keptKeyArn'];
const KNOWN = [...Object.keys(parameters), ...YAML_PARAMS].sort();
// One check per parameter (endpoint checks endpointType and vpcEndpointIds together).
const CHECKS = [...Object.keys(parameters).map((name) => params[name]), params.endpoint, params.orgId, params.apiGatewayLogRole, params.sharedTier, params.alarmTopicArn, params.keptKeyArn];

/** The mistakes in the command line's --param names (values are checked by their parameter). */
function paramNameProblems(given) {
  const problems = [];
  const seen = new Set();
  for (const item of given) {
    const name = String(item).split('=')[0];
    if (!KNOWN.includes(name)) problems.push(`--param=${name}: no such parameter (known: ${KNOWN.join(', ')})`);
    else if (seen.has(name)) problems.push(`--param=${name}: given twice; give each parameter once`);
    seen.add(name);
  }
  return problems;
}

// osls resolves in two passes: in the first, `param:` and `sls:` are not available yet and asking
// for them fails with this code; the resolver must then fail too, and osls asks again later.
const PENDING = 'MISSING_VARIABLE_DEPENDENCY';
const message = (error) => {
  if (error && error.code === PENDING) throw error;
  return error.message;
};

/** Every mistake, one line each; [] when packaging may go on. */
async function problems(context) {
  const lines = paramNameProblems([].concat(context.options?.param ?? []));
  // Without `options`, the guarded resolvers do not wait for this very check (infra/guard.cjs).
  const bare = { resolveVariable: context.resolveVariable };
  for (const check of CHECKS) {
    try {
      await check(bare);
    } catch (error) {
      lines.push(message(error));
    }
  }
  const stage = String(await context.resolveVariable('sls:stage'));
  const file = declarationFile(stage);
  let json;
  try {
    json = JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));
  } catch (error) {
    return [...lines, `${file}: not readable JSON (${error.message.split('\n')[0]})`];
  }
  const policy = { stage, orgId: '', vpcEndpointIds: [] };
  try {
    Object.assign(policy, { orgId: await params.orgId(bare), vpcEndpointIds: (await params.endpoint(bare)).vpcEndpointIds });
  } catch (error) {
    message(error); // already said above; the policy is then checked without them
  }
  return [...new Set([...lines, ...declarationLines(file, json, policy)])];
}

/**
 * What is wrong with a declaration file: first the function's own check, then (when it passes)
 * what the stack derives from it (IAM resources, schedules, resource names, the API's policy).
 * @param {{ stage: string, orgId: string, vpcEndpointIds: string[] }} policy
 */
function declarationLines(file, json, policy) {
  const declared = declarationProblems(file, json);
  if (declared.length > 0) return declared;
  const derived = [
    () => require('./secret-arns.cjs').secretArnsFrom(json),
    () => require('./rotation.cjs').rotationResources(json),
    () => require('./custody.cjs').custodyResources(json, { stage: policy.stage, kept: false }),
    () => require('./rest-api.cjs').resourcePolicyFrom(json, policy),
  ];
  // The first one only: they share causes (no profiles at all fails every one of them).
  for (const derive of derived) {
    try {
      derive();
    } catch (error) {
      return [message(error).replace(/^infra\/profiles\.json/, file)];
    }
  }
  return [];
}

let checked;
/** Runs the checks once per process; on a mistake prints them and exits 1 (no stack trace, no repeats). */
function preflight(context) {
  checked ??= problems(context).then(
    (lines) => {
      if (lines.length === 0) return;
      process.stderr.write(`${lines.map((line) => `npm run package refused: ${line}`).join('\n')}\n`);
      process.exit(1);
    },
    (error) => {
      checked = undefined; // not yet resolvable (PENDING): the next pass checks again
      throw error;
    },
  );
  return checked;
}

module.exports = { preflight, problems, declarationLines, paramNameProblems, KNOWN };
