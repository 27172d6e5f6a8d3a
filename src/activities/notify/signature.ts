/**
 * The webhook signature: `X-Neon-Promote-Signature: t=<unix seconds>,v1=<hex>` where v1 is
 * HMAC-SHA256(secret, `${t}.${rawBody}`). The timestamp is signed too, so a captured request cannot be replayed later
 * than the receiver's tolerance. Receivers verify with {@link verifyWebhookSignature} on the raw body bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-neon-promote-signature';

/** Signs a body at a time (unix seconds); returns the header value. */
export function signWebhook(body: string, secret: string, timestampSec: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `t=${timestampSec},v1=${v1}`;
}

export type VerifyWebhookOptions = {
  /** The request body exactly as received (before any JSON parsing). */
  body: string | Buffer;
  /** The X-Neon-Promote-Signature header. */
  header: string | string[] | undefined;
  secret: string;
  /** How old (or how far ahead) a signature may be; default 300 s. */
  toleranceSec?: number;
  /** Unix seconds; default now. */
  nowSec?: number;
};

/**
 * True when the header carries a v1 signature of this body made with this secret within the tolerance. For
 * receivers of neon-promote's notifications; compares in constant time.
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const header = Array.isArray(options.header) ? options.header[0] : options.header;
  if (!header || !options.secret) return false;
  const parts = new Map<string, string[]>();
  for (const pair of header.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    parts.set(key, [...(parts.get(key) ?? []), pair.slice(at + 1).trim()]);
  }
  const signedAt = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(signedAt)) return false;
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - signedAt) > (options.toleranceSec ?? 300)) return false;
  const body = typeof options.body === 'string' ? options.body : options.body.toString('utf8');
  const expected = Buffer.from(signWebhook(body, options.secret, signedAt).split('v1=')[1]!, 'hex');
  // Several v1 values may be sent while a secret is rotated; any one matching is enough.
  return (parts.get('v1') ?? []).some((hex) => {
    const got = Buffer.from(hex, 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
