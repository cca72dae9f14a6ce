import { randomBytes, randomUUID } from 'node:crypto';

/** An error Secrets Manager would answer: `__type` and message, status 400 unless said otherwise. */
export class ApiError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

export interface Version {
  id: string;
  /** Absent while a rotation's new version has no value yet (RotateSecret creates it empty). */
  secretString?: string;
  /** A binary secret's value instead (`--secret-binary`), base64 as the wire carries it. */
  secretBinary?: string;
  stages: Set<string>;
  createdDate: number;
}

export interface Secret {
  name: string;
  arn: string;
  versions: Map<string, Version>;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  rotationDays?: number;
  lastRotatedDate?: number;
}

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

/**
 * The version and staging-label rules of Secrets Manager, without the wire protocol: a label sits on
 * at most one version; moving AWSCURRENT leaves AWSPREVIOUS on the version it left; a version keeps
 * its value for ever once set; versions without labels are deprecated (still readable by id).
 */
export class SecretVersions {
  readonly #byName = new Map<string, Secret>();
  readonly #region: string;
  readonly #onValue: (secretString: string) => void;

  constructor(region: string, onValue: (secretString: string) => void) {
    this.#region = region;
    this.#onValue = onValue;
  }

  // Secrets Manager appends six random characters to a secret's name in its ARN.
  arnOf(name: string): string {
    return this.#byName.get(name)?.arn ?? `arn:aws:secretsmanager:${this.#region}:000000000000:secret:${name}-${randomBytes(3).toString('hex')}`;
  }

  /** By name or ARN; anything else is ResourceNotFoundException, as the service answers. */
  find(id: unknown): Secret {
    const secret = typeof id === 'string' ? this.#byName.get(id) ?? [...this.#byName.values()].find((s) => s.arn === id) : undefined;
    if (!secret) throw new ApiError('ResourceNotFoundException', NOT_FOUND);
    return secret;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  create(name: string): Secret {
    const secret: Secret = { name, arn: this.arnOf(name), versions: new Map(), rotationEnabled: false };
    this.#byName.set(name, secret);
    return secret;
  }

  delete(name: string): void {
    this.#byName.delete(name);
  }

  /** A new version holding `value` (bytes: a binary secret), with `stages` moved onto it. */
  put(secret: Secret, value: string | Uint8Array | undefined, stages: string[], versionId: string = randomUUID()): Version {
    const secretString = typeof value === 'string' ? value : undefined;
    if (secretString !== undefined) this.#onValue(secretString);
    const existing = secret.versions.get(versionId);
    if (existing && hasValue(existing)) {
      // Same token and same value: the retry of a put that worked. Anything else would change a version.
      if (existing.secretString === secretString) return existing;
      throw new ApiError('ResourceExistsException', `You can't modify an existing version, you can only create a new version. VersionId: ${versionId}`);
    }
    const version = existing ?? { id: versionId, stages: new Set<string>(), createdDate: Date.now() / 1000 };
    if (secretString !== undefined) version.secretString = secretString;
    if (value instanceof Uint8Array) version.secretBinary = Buffer.from(value).toString('base64');
    secret.versions.set(versionId, version);
    for (const stage of stages) this.attach(secret, stage, version);
    return version;
  }

  /** Moves `stage` onto `version`, from whichever version had it. */
  attach(secret: Secret, stage: string, version: Version): void {
    const holder = this.holderOf(secret, stage);
    if (holder === version) return;
    holder?.stages.delete(stage);
    if (stage === 'AWSCURRENT' && holder) this.attach(secret, 'AWSPREVIOUS', holder);
    version.stages.add(stage);
  }

  holderOf(secret: Secret, stage: string): Version | undefined {
    return [...secret.versions.values()].find((v) => v.stages.has(stage));
  }

  /** GetSecretValue's choice: by id, by label, or both (then they must agree); AWSCURRENT by default. */
  select(secret: Secret, versionId: unknown, stage: unknown): Version {
    const label = typeof stage === 'string' ? stage : versionId === undefined ? 'AWSCURRENT' : undefined;
    const version = typeof versionId === 'string' ? secret.versions.get(versionId) : label ? this.holderOf(secret, label) : undefined;
    if (!version || (label && !version.stages.has(label)) || !hasValue(version)) {
      const what = version && label && !version.stages.has(label) ? `staging label: ${label}` : typeof versionId === 'string' ? `VersionId: ${versionId}` : `staging label: ${label}`;
      throw new ApiError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${what}`);
    }
    return version;
  }

  /** UpdateSecretVersionStage: move a label (naming the version it leaves) or remove it. */
  updateStage(secret: Secret, stage: string, removeFrom: unknown, moveTo: unknown): void {
    const holder = this.holderOf(secret, stage);
    if (removeFrom !== undefined && holder?.id !== removeFrom) {
      throw new ApiError('InvalidParameterException', `The staging label ${stage} is not attached to version ${String(removeFrom)}.`);
    }
    if (moveTo === undefined) {
      if (!holder) throw new ApiError('InvalidParameterException', 'You must specify MoveToVersionId or RemoveFromVersionId.');
      if (stage === 'AWSCURRENT') throw new ApiError('InvalidParameterException', 'You can only move the staging label AWSCURRENT to another version, not remove it.');
      holder.stages.delete(stage);
      return;
    }
    const target = typeof moveTo === 'string' ? secret.versions.get(moveTo) : undefined;
    if (!target) throw new ApiError('ResourceNotFoundException', `Secrets Manager can't find the specified secret version: ${String(moveTo)}`);
    if (holder && holder !== target && removeFrom === undefined) {
      throw new ApiError('InvalidParameterException', `The staging label ${stage} is currently attached to version ${holder.id}. You must specify that version as RemoveFromVersionId.`);
    }
    this.attach(secret, stage, target);
  }

  /** DescribeSecret's map: versions that carry a label; the rest are deprecated. */
  stagesOf(secret: Secret): Record<string, string[]> {
    return Object.fromEntries([...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]]));
  }
}

const hasValue = (version: Version) => version.secretString !== undefined || version.secretBinary !== undefined;
