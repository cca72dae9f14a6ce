// The environment variables `env` and `exec` write, in the names each kind of client reads.
import type { TokenAnswer } from './index.ts';

export const FORMATS = ['rackspace', 'swift', 'rclone', 'openstack'] as const;
export type Format = (typeof FORMATS)[number];

export function isFormat(text: string): text is Format {
  return (FORMATS as readonly string[]).includes(text);
}

/**
 * The service asked for when `--service` is not given. swift and rclone speak only to an object
 * store, and the openstack CLI's token_endpoint mode needs one endpoint: Cloud Files' catalog type.
 */
export const DEFAULT_SERVICE: Readonly<Record<Format, string | undefined>> = {
  rackspace: undefined,
  swift: 'object-store',
  rclone: 'object-store',
  openstack: 'object-store',
};

/**
 * The variables for one format. An entry needing the endpoint is left out when the answer has none.
 *
 * - `rackspace` (default): the names Rackspace's own API guide uses, plus the expiry.
 * - `swift` (python-swiftclient): `OS_AUTH_TOKEN`, `OS_STORAGE_URL`.
 * - `rclone` (its `:swift:` backend): `RCLONE_SWIFT_AUTH_TOKEN`, `RCLONE_SWIFT_STORAGE_URL`.
 * - `openstack` (the openstack CLI): `OS_AUTH_TYPE=token_endpoint`, `OS_TOKEN`, `OS_ENDPOINT`
 *   (its `--os-auth-type` flag takes only `admin_token`; the variable takes `token_endpoint`).
 *
 * @example
 * variables(answer, 'swift') // { OS_AUTH_TOKEN: 'AA…', OS_STORAGE_URL: 'https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_…' }
 */
export function variables(answer: TokenAnswer, format: Format = 'rackspace'): Record<string, string> {
  const url = answer.endpoint?.url;
  const withUrl = (name: string) => (url === undefined ? {} : { [name]: url });
  switch (format) {
    case 'rackspace':
      return { AUTH_TOKEN: answer.token, TENANT_ID: answer.tenant?.id ?? '', ...withUrl('API_ENDPOINT'), AUTH_TOKEN_EXPIRES: answer.expiresAt };
    case 'swift':
      return { OS_AUTH_TOKEN: answer.token, ...withUrl('OS_STORAGE_URL') };
    case 'rclone':
      return { RCLONE_SWIFT_AUTH_TOKEN: answer.token, ...withUrl('RCLONE_SWIFT_STORAGE_URL') };
    case 'openstack':
      return { OS_AUTH_TYPE: 'token_endpoint', OS_TOKEN: answer.token, ...withUrl('OS_ENDPOINT') };
  }
}
