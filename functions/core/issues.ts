import type * as z from 'zod/mini';

/**
 * One zod issue as `path: problem`, the way every refusal of ours names what was wrong: the dotted
 * path (`profiles.0.allow`), or `whole` when the issue is about the value itself; unknown keys by name.
 */
export function describeIssue(issue: z.core.$ZodIssue, whole: string): string {
  const problem = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
  return `${issue.path.join('.') || whole}: ${problem}`;
}
