import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export type EncryptionContext = Record<string, string>;

/** The key service, as the envelope needs it (adapters/kms-data-keys.ts wires the real KMS client). */
export interface DataKeys {
  /** A new 256-bit data key under the stack's key, bound to `context`. */
  generate(context: EncryptionContext): Promise<{ plaintext: Uint8Array; encrypted: Uint8Array }>;
  /**
   * The data key inside `encrypted`. Throws {@link DataKeyRejectedError} when the key service says
   * the blob is not one of ours for this context; any other error means it is unavailable.
   */
  decrypt(encrypted: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
}

/** The key service refused the encrypted data key (damaged, other key, other context). */
export class DataKeyRejectedError extends Error {
  override name = 'DataKeyRejectedError';
}

/** A record that did not decrypt or verify: never served, overwritten by the next holder. */
export class TamperedError extends Error {
  override name = 'TamperedError';
}

export interface Sealed {
  /** The data key, encrypted under the stack's key (KMS CiphertextBlob). */
  dataKey: Uint8Array;
  iv: Uint8Array;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: Uint8Array;
}

export interface EnvelopeOptions {
  keys: DataKeys;
  now: () => number;
  /**
   * How long a data key is kept in memory, in plaintext, for sealing and opening: KMS is then called
   * about once per profile per this period, never per vend. 5 minutes by default.
   */
  cacheMs?: number;
  /** Most opened data keys kept (records sealed by other instances each bring theirs). */
  maxOpened?: number;
}

const TAG_BYTES = 16;

/**
 * Envelope encryption for shared records: a data key from KMS bound to an encryption context
 * (profile, stage, format version), AES-256-GCM with additional authenticated data that also binds
 * the record's clear attributes (identity, expiry), so moving or editing any of them is detected.
 *
 * @example
 * const envelope = new Envelope({ keys, now: Date.now });
 * const sealed = await envelope.seal(context, aad, JSON.stringify(token));
 * const text = await envelope.open(context, aad, sealed); // throws TamperedError if anything changed
 */
export class Envelope {
  readonly #keys: DataKeys;
  readonly #now: () => number;
  readonly #cacheMs: number;
  readonly #maxOpened: number;
  /** Sealing key per context, reused while young. */
  readonly #sealing = new Map<string, { plaintext: Uint8Array; encrypted: Uint8Array; at: number }>();
  /** Opened data keys by their encrypted form (+ context), so a record is decrypted by KMS once. */
  readonly #opened = new Map<string, { plaintext: Uint8Array; at: number }>();

  constructor(options: EnvelopeOptions) {
    this.#keys = options.keys;
    this.#now = options.now;
    this.#cacheMs = options.cacheMs ?? 5 * 60_000;
    this.#maxOpened = options.maxOpened ?? 32;
  }

  async seal(context: EncryptionContext, aad: string, plaintext: string): Promise<Sealed> {
    const contextKey = canonical(context);
    let key = this.#sealing.get(contextKey);
    if (!key || this.#now() - key.at >= this.#cacheMs) {
      const generated = await this.#keys.generate(context);
      key = { ...generated, at: this.#now() };
      this.#sealing.set(contextKey, key);
      this.#remember(openedKey(key.encrypted, contextKey), key.plaintext);
    }
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv).setAAD(Buffer.from(aad));
    // Stryker disable next-line StringLiteral: 'utf8' is also what update() assumes for a string given no encoding.
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { dataKey: key.encrypted, iv, ciphertext };
  }

  /** The plaintext, or {@link TamperedError}; a KMS outage propagates as the key service's error. */
  async open(context: EncryptionContext, aad: string, sealed: Sealed): Promise<string> {
    const dataKey = await this.#dataKey(sealed.dataKey, context);
    if (sealed.iv.length !== 12 || sealed.ciphertext.length < TAG_BYTES) throw new TamperedError('the record is malformed');
    try {
      const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', dataKey, sealed.iv).setAAD(Buffer.from(aad));
      decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new TamperedError('the record does not verify', { cause: error });
    }
  }

  async #dataKey(encrypted: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const key = openedKey(encrypted, canonical(context));
    const cached = this.#opened.get(key);
    if (cached && this.#now() - cached.at < this.#cacheMs) return cached.plaintext;
    let plaintext: Uint8Array;
    try {
      plaintext = await this.#keys.decrypt(encrypted, context);
    } catch (error) {
      if (error instanceof DataKeyRejectedError) throw new TamperedError('the data key was refused', { cause: error });
      throw error;
    }
    if (plaintext.length !== 32) throw new TamperedError('the data key is not a 256-bit key');
    this.#remember(key, plaintext);
    return plaintext;
  }

  #remember(key: string, plaintext: Uint8Array): void {
    this.#opened.delete(key);
    this.#opened.set(key, { plaintext, at: this.#now() });
    // Oldest first: a Map iterates in insertion order.
    while (this.#opened.size > this.#maxOpened) this.#opened.delete(this.#opened.keys().next().value as string);
  }
}

/** Order-independent text of a context (KMS treats contexts as unordered maps). */
export function canonical(context: EncryptionContext): string {
  return JSON.stringify(Object.keys(context).sort().map((k) => [k, context[k]]));
}

const openedKey = (encrypted: Uint8Array, contextKey: string) => `${Buffer.from(encrypted).toString('base64')} ${contextKey}`;
