import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, RotateSecretCommand, UpdateSecretVersionStageCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretMovedError, type HealDeps } from '../core/heal.ts';
import { SESSION_STAGE } from '../rotate/session.ts';
import { errorName } from './aws-errors.ts';

/**
 * The label a healed version is put under before AWSCURRENT moves onto it. A new put moves it on,
 * so at most one version carries it; once AWSCURRENT is there too it only marks where a heal wrote.
 */
export const HEAL_STAGE = 'RTV_HEALED';

/**
 * The heal's Secrets Manager calls (infra/heal.cjs grants exactly the writes on the declared
 * secrets): whether a rotation's saved session is there, AWSCURRENT with its version id, a
 * conditional replace, and RotateSecret. Its own
 * commands rather than the rotation's version store, which would bring DescribeSecret into the
 * vending function's bundle.
 *
 * The replace is two calls: PutSecretValue under {@link HEAL_STAGE} (AWSCURRENT untouched), then
 * UpdateSecretVersionStage AWSCURRENT with RemoveFromVersionId = the version read, which Secrets
 * Manager refuses when AWSCURRENT is on another version by then (someone changed the secret).
 *
 * @example
 * const writer = secretHealWriter(client);
 * await writer.replace(arn, versionRead, text);
 */
export function secretHealWriter(client: SecretsManagerClient): Pick<HealDeps, 'rotationUnderWay' | 'current' | 'replace' | 'rotate'> {
  return {
    async rotationUnderWay(secretId) {
      try {
        // The value (a token of the same user) is never looked at: only whether the label is there.
        await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: SESSION_STAGE }));
        return true;
      } catch (error) {
        if (errorName(error) === 'ResourceNotFoundException') return false;
        throw error;
      }
    },
    async current(secretId) {
      const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
      // Stryker disable next-line ConditionalExpression: Secrets Manager names the version of every value it returns; the VersionId check is for the type.
      return answer.SecretString === undefined || answer.VersionId === undefined ? null : { versionId: answer.VersionId, secretString: answer.SecretString };
    },
    async replace(secretId, fromVersionId, secretString) {
      const versionId = randomUUID();
      await client.send(new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: versionId, SecretString: secretString, VersionStages: [HEAL_STAGE] }));
      try {
        await client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT', MoveToVersionId: versionId, RemoveFromVersionId: fromVersionId }));
      } catch (error) {
        // The label is not on the version named: AWSCURRENT moved after we read it.
        if (errorName(error) === 'InvalidParameterException') throw new SecretMovedError('AWSCURRENT moved since it was read', { cause: error });
        throw error;
      }
    },
    async rotate(secretId) {
      // No RotationLambdaARN and no rules: the secret's own rotation, as configured (IAM allows nothing else).
      await client.send(new RotateSecretCommand({ SecretId: secretId, RotateImmediately: true }));
    },
  };
}
