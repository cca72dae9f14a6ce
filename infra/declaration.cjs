'use strict';
// Which declaration a stage deploys, and the check `npm run package` runs on it before anything
// else: the function's own (functions/core/profiles.ts, loaded here as it is: Node strips the
// types), so a declaration the function would refuse at cold start (every caller a 502) never
// packages. Its refusal is one line naming the file, the profile, the field and what is allowed.
//
// Per stage: `infra/profiles.<stage>.json` when it exists, else `infra/profiles.json`; the bundle
// embeds the same file (infra/esbuild.cjs), so dev and prod in one account can declare different
// profiles and, above all, different secret names.
const { existsSync } = require('node:fs');
const path = require('node:path');
const { loadProfiles, PROFILE_FIELDS } = require('../functions/core/profiles.ts');

const ROOT = path.join(__dirname, '..');

/** The declaration file of a stage, relative to the repository (as refusals name it). */
function declarationFile(stage) {
  const own = `infra/profiles.${stage}.json`;
  return existsSync(path.join(ROOT, own)) ? own : 'infra/profiles.json';
}

/** One part of the function's refusal (`profiles.0.allow: problem`), said with the profile's name and what is allowed. */
function explain(part, json) {
  const profiles = json && Array.isArray(json.profiles) ? json.profiles : [];
  const entry = /^profiles\.(\d+)(?:\.(\w+))?(?:\.(\d+))?: (.*)$/.exec(part);
  if (entry) {
    const [, index, field, item, problem] = entry;
    const name = profiles[Number(index)] && typeof profiles[Number(index)].name === 'string' ? `profile '${profiles[Number(index)].name}'` : 'profile';
    const unknown = /^unknown key\(s\) (.+)$/.exec(problem);
    if (unknown) return `${name} (profiles[${index}]): unknown field(s) ${unknown[1]}; a profile may have only ${PROFILE_FIELDS.join(', ')}`;
    return `${name} (profiles[${index}]) field ${field}${item === undefined ? '' : `[${item}]`}: ${problem}`;
  }
  const top = /^\(top level\): unknown key\(s\) (.+)$/.exec(part);
  if (top) return `unknown top-level key(s) ${top[1]}; the file has only "profiles"`;
  return part;
}

/**
 * What is wrong with a declaration, as the function sees it: [] when it would start.
 * @param {string} file as named in the refusal
 * @param {unknown} json the parsed file
 */
function declarationProblems(file, json) {
  try {
    loadProfiles(json);
    return [];
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'DeclarationError') throw error;
    const parts = error.message.replace(/^infra\/profiles\.json is invalid: /, '').split('; ');
    return [`${file}: ${parts.map((part) => explain(part, json)).join('; ')}`];
  }
}

module.exports = { declarationFile, declarationProblems, ROOT };
