import declaration from '../../infra/profiles.json' with { type: 'json' };
import { DEMO_USER, startIdentityEmulator, type IdentityUser } from '../emulators/identity.ts';
import { startSecretsManagerEmulator } from '../emulators/secrets-manager.ts';

// The shipped declaration's first profile, and a session of the first role it allows: what the
// deployed handler module or bundle serves when only the environment points it at the emulators.
const [profile] = declaration.profiles;
const role = profile?.allow[0];
if (!profile || !role || role.includes('*')) throw new Error('infra/profiles.json: the tests need a first profile whose first allowed role is named');
export const DECLARED = {
  profile: profile.name,
  secretId: profile.secretId,
  caller: `${role.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/test-session`,
};

/**
 * Both emulators with the declared profile's secret custodied, and the environment that points the
 * real SDK client and the handler's configuration at them: the variables a deployment or
 * `USE_REAL_SERVICES=1 npm start` would set, nothing else.
 */
export async function startDeclaredEmulators(user: Partial<IdentityUser> = {}) {
  const identity = await startIdentityEmulator({ users: [{ ...DEMO_USER, ...user }] });
  const secrets = await startSecretsManagerEmulator({ secrets: { [DECLARED.secretId]: JSON.stringify({ username: DEMO_USER.username, apiKey: DEMO_USER.apiKey }) } });
  const env = {
    IDENTITY_URL: identity.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
    AWS_SECRET_ACCESS_KEY: 'local-emulator',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return { identity, secrets, env, close: () => Promise.all([identity.close(), secrets.close()]) };
}
