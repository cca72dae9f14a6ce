import * as z from 'zod';

// The CloudWatch Embedded Metric Format specification, as published by AWS ("Specification:
// Embedded metric format", CloudWatch User Guide; its JSON schema and the rules around it):
// the root holds `_aws`; `_aws` holds an integer `Timestamp` (epoch ms) and `CloudWatchMetrics`;
// each directive has a Namespace (1–255), Dimensions (at least one set, each of at most 9
// references) and Metrics (at most 100, each a Name of 1–255 characters and an optional Unit from
// CloudWatch's list). Every reference must name a member of the root: a string for a dimension, a
// number (or at most 100 numbers) for a metric.
const UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits',
  'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second',
  'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
] as const;
const reference = z.string().min(1).max(255);
const Directive = z.strictObject({
  Namespace: z.string().min(1).max(255),
  Dimensions: z.array(z.array(reference).max(9)).min(1),
  Metrics: z.array(z.strictObject({ Name: reference, Unit: z.optional(z.enum(UNITS)), StorageResolution: z.optional(z.literal([1, 60])) })).max(100),
});
const Root = z.looseObject({
  _aws: z.looseObject({ Timestamp: z.int().nonnegative(), CloudWatchMetrics: z.array(Directive).min(1) }),
});

/** Every way `line` breaks the EMF specification (empty when it is a valid EMF document). */
export function emfProblems(line: Record<string, unknown>): string[] {
  const parsed = Root.safeParse(line);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const problems: string[] = [];
  for (const directive of parsed.data._aws.CloudWatchMetrics) {
    for (const key of directive.Dimensions.flat()) {
      if (typeof line[key] !== 'string') problems.push(`dimension ${key} is not a string member of the root`);
    }
    for (const { Name } of directive.Metrics) {
      const value = line[Name];
      const numbers = Array.isArray(value) ? value : [value];
      if (numbers.length > 100 || !numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) problems.push(`metric ${Name} is not a number member of the root`);
    }
  }
  return problems;
}
