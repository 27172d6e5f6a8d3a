/**
 * Last line of defence against secrets in log lines: activities already keep connection strings and the API key out
 * of their messages, but an error from a driver or a dependency may quote one.
 */
import { redact } from '../shared/secrets';

const URI_PASSWORD = /\b(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;
const SECRET_KEY = /(password|passwd|secret|api[_-]?key|token|authorization|cookie)/i;

const REDACTED = '[redacted]';

/**
 * Replaces passwords in connection strings, Bearer tokens and the given literal secrets of 8 characters or more (the
 * process's API keys are far longer; a short value would blank ordinary words all over the logs).
 */
export function scrubText(text: string, secrets: readonly string[] = []): string {
  const patterned = text.replace(URI_PASSWORD, `$1${REDACTED}@`).replace(BEARER, `$1${REDACTED}`);
  return redact(patterned, secrets, { marker: REDACTED, minLength: 8 });
}

/** Scrubs strings anywhere in a log record and blanks fields whose name says they hold a secret. */
export function scrubValue(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubText(value.message, secrets),
      stack: scrubText(value.stack ?? '', secrets),
    };
  }
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && typeof field === 'string' ? REDACTED : scrubValue(field, secrets, depth + 1);
  }
  return out;
}
