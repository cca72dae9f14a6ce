import * as z from 'zod/mini';
import type { EncryptionContext } from './envelope.ts';
import type { Token } from './token.ts';

/** Bump when the sealed layout changes: it is in the encryption context, so old records stop opening. */
export const RECORD_FORMAT = 'token/v1';

/** KMS encryption context of a profile's record: the function may use data keys only with it (IAM condition). */
export function recordContext(stage: string, profile: string): EncryptionContext {
  return { service: 'rackspace-token-vendor', stage, profile, format: RECORD_FORMAT };
}

/** What AES-GCM authenticates besides the ciphertext: the record's clear attributes and where it lives. */
export function recordAad(context: EncryptionContext, fields: { identity: string; expiresAt: number; confirmedAt: number }): string {
  return JSON.stringify([context.stage, context.profile, context.format, fields.identity, fields.expiresAt, fields.confirmedAt]);
}

const text = z.string().check(z.minLength(1));
const nullableText = z.nullable(z.string());
const Sealed = z.strictObject({
  id: text,
  tenant: z.nullable(z.strictObject({ id: text, name: nullableText })),
  defaultRegion: nullableText,
  catalog: z.array(
    z.object({
      name: text,
      type: text,
      endpoints: z.array(z.object({ publicURL: text, internalURL: nullableText, region: nullableText, tenantId: nullableText, versionId: nullableText })),
    }),
  ),
  // Written only when set, so every other record keeps the layout instances before it read.
  catalogFault: z.optional(text),
});

/** What is sealed: what the service needs to answer (id, tenant, region, catalog), never credentials. */
export function tokenText(token: Token): string {
  return JSON.stringify({ id: token.id, tenant: token.tenant, defaultRegion: token.defaultRegion, catalog: token.catalog, catalogFault: token.catalogFault });
}

/** The token back from its opened text, or `undefined` if the text is not what we seal. */
export function tokenFromText(plaintext: string, expiresAt: number): Token | undefined {
  let json: unknown;
  try {
    json = JSON.parse(plaintext);
  } catch {
    // Not JSON: json stays undefined, which the schema below refuses like any other text we did not seal.
  }
  const parsed = Sealed.safeParse(json);
  if (!parsed.success) return undefined;
  const { catalogFault, ...token } = parsed.data;
  return { ...token, expiresAt, ...(catalogFault !== undefined && { catalogFault }) };
}
