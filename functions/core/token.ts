import type { CatalogService } from './catalog.ts';

/** What Identity gave us, parsed and trimmed. Never leaves the process whole: callers get a trimmed view. */
export interface Token {
  id: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** `name` is `null` when Identity gives the tenant only an `id`. */
  tenant: { id: string; name: string | null } | null;
  defaultRegion: string | null;
  catalog: CatalogService[];
  /**
   * The user's role names (`access.user.roles[].name`), for the role guard when the token is
   * obtained; `null` when Identity's answer has no roles list. Not kept in the shared record: a
   * token there was checked by the instance that obtained it.
   */
  roles?: readonly string[] | null;
  /** Identity's id of the user (`access.user.id`), which the key calls of a rotation need; absent when not parsed. */
  userId?: string | null;
  /**
   * Why Identity's `serviceCatalog` could not be read at all (`serviceCatalog is not a list`, the
   * old v1.1 object shape); absent when it could. Such a token still serves token-only callers; a
   * service request is Identity's fault, not the caller's (502, not 404).
   */
  catalogFault?: string;
  /** What parsing Identity's answer skipped as unusable (paths, catalog names, counts; never values). */
  skipped?: readonly string[];
}

/** Whole seconds the token stays valid after `now` (never negative). */
export function secondsLeft(token: Pick<Token, 'expiresAt'>, now: number): number {
  return Math.max(0, Math.floor((token.expiresAt - now) / 1000));
}

/** A token may be handed to a caller who needs `minTtl` seconds while it stays valid that long. */
export function isFresh(token: Pick<Token, 'expiresAt'>, now: number, minTtlSeconds: number): boolean {
  return token.expiresAt - now >= minTtlSeconds * 1000;
}
