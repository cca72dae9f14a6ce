import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { errorName } from './aws-errors.ts';

/** The version and staging-label calls a rotation makes, and nothing more (see the rotation function's IAM policy). */
export interface SecretVersionStore {
  /** Whether rotation is on, and each labelled version's labels. */
  describe(secretId: string): Promise<{ rotationEnabled: boolean; stages: Record<string, string[]> }>;
  /** The value of a version chosen by id and/or label; `null` when there is none (or it has no value yet). */
  value(secretId: string, select: { versionId?: string; stage?: string }): Promise<{ versionId: string; secretString: string } | null>;
  /** A version with this value and these labels; the same `versionId` and value again is a no-op, so a put may be retried. */
  put(secretId: string, version: { versionId?: string; secretString: string; stages: string[] }): Promise<void>;
  /** Moves a label onto `moveTo` (naming the version it leaves), or removes it from `removeFrom`. */
  moveStage(secretId: string, stage: string, versions: { moveTo?: string; removeFrom?: string }): Promise<void>;
}

/**
 * {@link SecretVersionStore} over the real Secrets Manager client. Errors pass through as the SDK
 * throws them (their names are Secrets Manager's error codes); secrets.ts's `secretsRetryVerdict` says which
 * are worth another attempt.
 *
 * @example
 * const store = secretVersionStore(new SecretsManagerClient({}));
 * await store.put(arn, { versionId: token, secretString, stages: ['AWSPENDING'] });
 */
export function secretVersionStore(client: SecretsManagerClient): SecretVersionStore {
  return {
    async describe(secretId) {
      const answer = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return { rotationEnabled: answer.RotationEnabled === true, stages: answer.VersionIdsToStages ?? {} };
    },
    async value(secretId, { versionId, stage }) {
      try {
        const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId, VersionStage: stage }));
        return answer.SecretString === undefined || answer.VersionId === undefined ? null : { versionId: answer.VersionId, secretString: answer.SecretString };
      } catch (error) {
        if (errorName(error) === 'ResourceNotFoundException') return null;
        throw error;
      }
    },
    async put(secretId, { versionId, secretString, stages }) {
      await client.send(new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: versionId, SecretString: secretString, VersionStages: stages }));
    },
    async moveStage(secretId, stage, { moveTo, removeFrom }) {
      await client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: stage, MoveToVersionId: moveTo, RemoveFromVersionId: removeFrom }));
    },
  };
}
