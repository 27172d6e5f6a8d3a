/**
 * Last line of defence against secrets in log lines: activities already keep connection strings and the API key out
 * of their messages, but an error from a driver or a dependency may quote one.
 */
import { redact } from '../shared/secrets';

const URI_PASSWORD = /\b(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi;
/** libpq key=value form (`host=… password='a b' user=…`), and the same key in env dumps such as `PGPASSWORD=…`. */
const KEYWORD_PASSWORD = /(passw(?:or)?d\s*=\s*)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const SECRET_KEY = /(password|passwd|secret|api[_-]?key|token|authorization|cookie)/i;

const REDACTED = '[redacted]';
/** Past this nesting a record is cut off rather than walked, which also bounds cyclic records. */
const MAX_DEPTH = 6;

/**
 * Replaces passwords in connection strings (URL and key=value forms), Bearer tokens and the given literal secrets of 8
 * characters or more (the process's API keys are far longer; a short value would blank ordinary words all over the
 * logs).
 */
export function scrubText(text: string, secrets: readonly string[] = []): string {
  const patterned = text
    .replace(URI_PASSWORD, `$1${REDACTED}@`)
    .replace(KEYWORD_PASSWORD, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`);
  return redact(patterned, secrets, { marker: REDACTED, minLength: 8 });
}

/**
 * Scrubs strings anywhere in a log record and blanks fields whose name says they hold a secret, whatever their type:
 * a numeric PIN or an object of credentials is as secret as a string. Only booleans and empty values stay, since they
 * say whether a secret is set without carrying it. Objects nested past the depth bound are blanked whole, because
 * whatever they hold is not scrubbed.
 */
export function scrubValue(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return REDACTED;
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
    out[key] = SECRET_KEY.test(key) && holdsValue(field) ? REDACTED : scrubValue(field, secrets, depth + 1);
  }
  return out;
}

function holdsValue(field: unknown): boolean {
  return field !== null && field !== undefined && typeof field !== 'boolean';
}
