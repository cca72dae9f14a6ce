import { ForbiddenError } from './errors.ts';
import type { Profile } from './profiles.ts';

// The ARN forms an IAM-authorized caller arrives with: a role session, or (rarely) the role itself.
const ASSUMED_ROLE = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]+$/;
const ROLE = /^arn:([\w-]+):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/** The role a caller ARN stands for, or `null` when it is not a role (an IAM user, root, garbage). */
export function callerRole(arn: string): { partition: string; account: string; name: string } | null {
  const match = ASSUMED_ROLE.exec(arn) ?? ROLE.exec(arn);
  if (!match) return null;
  // Stryker disable next-line StringLiteral: every group of the pattern takes part in any match; the defaults only satisfy noUncheckedIndexedAccess.
  const [, partition = '', account = '', name = ''] = match;
  return { partition, account, name };
}

/**
 * Deny by default. Allowed only when the profile exists and one of its patterns matches the
 * caller's role (same partition, same account, role name matching). An unknown profile and a
 * forbidden one raise the same error, so profiles cannot be enumerated; `reason` is for the log.
 *
 * @example
 * authorize(profiles, 'billing', 'arn:aws:sts::123456789012:assumed-role/billing-job/i-0abc');
 */
export function authorize(profiles: ReadonlyMap<string, Profile>, profileName: string, callerArn: string | null): Profile {
  if (callerArn === null) throw new ForbiddenError('no IAM caller in the request');
  const profile = profiles.get(profileName);
  if (!profile) throw new ForbiddenError('no such profile');
  const role = callerRole(callerArn);
  if (!role) throw new ForbiddenError('caller is not an IAM role');
  const allowed = profile.allow.some((p) => p.partition === role.partition && p.account === role.account && p.name.test(role.name));
  if (!allowed) throw new ForbiddenError('caller role not in the profile allowlist');
  return profile;
}
