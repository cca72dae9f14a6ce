/** `failed`: Identity did not confirm (no answer, a redirect, another status); the flush then changes nothing. */
export type Revocation = 'revoked' | 'already-invalid' | 'failed';

/**
 * Rackspace Identity's "Revoke token": `DELETE {identityUrl}/tokens` with the token itself as
 * `X-Auth-Token` (a user revokes its own token; `DELETE /tokens/{tokenId}` is for administrators
 * revoking someone else's). 204: revoked; 401/404: the token was already invalid. Redirects are
 * never followed: the token would go wherever the redirect points.
 *
 * @example
 * const revoke = identityRevoker({ timeoutMs: 3000 });
 * await revoke('https://identity.api.rackspacecloud.com/v2.0', token.id); // 'revoked'
 */
export function identityRevoker(options: { timeoutMs: number; fetch?: typeof globalThis.fetch }): (identityUrl: string, tokenId: string) => Promise<Revocation> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  return async (identityUrl, tokenId) => {
    let status: number | undefined;
    try {
      const response = await fetchFn(`${identityUrl.replace(/\/+$/, '')}/tokens`, {
        method: 'DELETE',
        // Stryker disable next-line StringLiteral: Identity answers JSON whatever is accepted; asked for as its documentation shows.
        headers: { 'x-auth-token': tokenId, accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      // No answer (a timeout, a refused connection): status stays undefined, which answers 'failed' below.
    }
    if (status === 204 || status === 200) return 'revoked';
    return status === 401 || status === 404 ? 'already-invalid' : 'failed';
  };
}
