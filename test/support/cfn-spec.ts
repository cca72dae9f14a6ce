import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

// AWS's CloudFormation resource specification as @aws-cdk/aws-service-spec ships it: the database
// the AWS CDK generates its CloudFormation classes from, rebuilt from AWS's published resource
// schemas every week. Read directly (one gzipped JSON file) rather than through its query library.

type PropertyType =
  | { type: 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'date-time' | 'tag' | 'null' }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: PropertyType }
  | { type: 'union'; types: PropertyType[] };
interface Property {
  type: PropertyType;
  required?: boolean;
}
interface Shape {
  name: string;
  properties: Record<string, Property>;
}
interface ResourceSpec extends Shape {
  cloudFormationType: string;
  attributes: Record<string, unknown>;
}

export interface CfnSpec {
  resources: Map<string, ResourceSpec>;
  types: Map<string, Shape>;
  version: string;
}

export function loadCfnSpec(): CfnSpec {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@aws-cdk/aws-service-spec/package.json'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const db = JSON.parse(gunzipSync(readFileSync(join(root, 'db.json.gz'))).toString('utf8')) as {
    schema: { resource: { entities: (ResourceSpec & { $id: string })[] }; typeDefinition: { entities: (Shape & { $id: string })[] } };
  };
  return {
    resources: new Map(db.schema.resource.entities.map((r) => [r.cloudFormationType, r])),
    types: new Map(db.schema.typeDefinition.entities.map((t) => [t.$id, t])),
    version,
  };
}

// What a resource may carry beside Type and Properties (CloudFormation's resource attributes).
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'DeletionPolicy', 'UpdateReplacePolicy', 'Condition', 'Metadata', 'CreationPolicy', 'UpdatePolicy']);
const POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);

const isIntrinsic = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && /^(Ref|Fn::|Condition$)/.test(Object.keys(value)[0]!);
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every problem of a template's resources against the specification: unknown resource types,
 * unknown or missing required properties (nested ones too), values of the wrong kind, unknown
 * resource attributes, and `Fn::GetAtt`s of attributes the target type does not have.
 */
export function specProblems(spec: CfnSpec, template: { Resources: Record<string, Record<string, unknown>> }): string[] {
  const problems: string[] = [];
  const checkValue = (value: unknown, type: PropertyType, where: string): string[] => {
    if (isIntrinsic(value)) return [];
    switch (type.type) {
      case 'json':
        return [];
      case 'string':
      case 'date-time':
        return typeof value === 'string' || typeof value === 'number' ? [] : [`${where}: expected a string, got ${JSON.stringify(value)}`];
      case 'number':
      case 'integer':
        if (typeof value === 'number' ? type.type === 'number' || Number.isInteger(value) : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return [];
        return [`${where}: expected ${type.type === 'integer' ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`];
      case 'boolean':
        return typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : [`${where}: expected a boolean, got ${JSON.stringify(value)}`];
      case 'null':
        return value === null ? [] : [`${where}: expected null`];
      case 'tag':
        return isPlainObject(value) && 'Key' in value && 'Value' in value ? [] : [`${where}: expected a tag { Key, Value }`];
      case 'array':
        return Array.isArray(value) ? value.flatMap((item, i) => checkValue(item, type.element, `${where}[${i}]`)) : [`${where}: expected a list`];
      case 'map':
        return isPlainObject(value) ? Object.entries(value).flatMap(([key, item]) => checkValue(item, type.element, `${where}.${key}`)) : [`${where}: expected a map`];
      case 'union': {
        const attempts = type.types.map((t) => checkValue(value, t, where));
        return attempts.some((a) => a.length === 0) ? [] : attempts.flat();
      }
      case 'ref': {
        const shape = spec.types.get(type.reference.$ref);
        if (!shape) return [`${where}: the specification lacks type ${type.reference.$ref}`];
        return isPlainObject(value) ? checkShape(value, shape, where) : [`${where}: expected a ${shape.name} object`];
      }
    }
  };
  const checkShape = (properties: Record<string, unknown>, shape: Shape, where: string): string[] => [
    ...Object.entries(shape.properties)
      .filter(([name, property]) => property.required && !(name in properties))
      .map(([name]) => `${where}: required property ${name} is missing`),
    ...Object.entries(properties).flatMap(([name, value]) => {
      const property = shape.properties[name];
      return property ? checkValue(value, property.type, `${where}.${name}`) : [`${where}: ${shape.name} has no property ${name}`];
    }),
  ];

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const type = String(resource.Type);
    const resourceSpec = spec.resources.get(type);
    if (!resourceSpec) {
      problems.push(`${logicalId}: unknown resource type ${type}`);
      continue;
    }
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) problems.push(`${logicalId}: unknown resource attribute ${key}`);
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy']) {
      if (key in resource && !POLICIES.has(String(resource[key]))) problems.push(`${logicalId}.${key}: ${JSON.stringify(resource[key])} is not a policy`);
    }
    const properties = resource.Properties ?? {};
    if (!isPlainObject(properties)) problems.push(`${logicalId}.Properties: expected an object`);
    else problems.push(...checkShape(properties, resourceSpec, `${logicalId}.Properties`));
  }

  // Fn::GetAtt [Target, Attribute]: the attribute must exist on the target's type.
  const visit = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((item, i) => visit(item, `${where}[${i}]`));
    else if (isPlainObject(node)) {
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt) && Object.keys(node).length === 1) {
        const [target, attribute] = getAtt as [string, string];
        const targetType = template.Resources[target]?.Type;
        const targetSpec = typeof targetType === 'string' ? spec.resources.get(targetType) : undefined;
        if (!targetType) problems.push(`${where}: Fn::GetAtt of unknown resource ${target}`);
        else if (targetSpec && !(attribute in targetSpec.attributes)) problems.push(`${where}: ${targetType} has no attribute ${attribute}`);
      }
      for (const [key, value] of Object.entries(node)) visit(value, `${where}.${key}`);
    }
  };
  visit(template.Resources, 'Resources');
  return problems;
}
