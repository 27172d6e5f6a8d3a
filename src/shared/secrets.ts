/**
 * The one scrubber of literal secrets, for every text that may carry one out of the process: the Neon client's errors
 * (the API key), the activities' failures and results (a branch's connection string and its password), and log lines
 * (src/observability/scrub.ts, which adds the patterns a log line may hold).
 */

export const REDACTED = '[REDACTED]';

export type RedactOptions = {
  /** What replaces a secret. */
  marker?: string;
  /** Secrets shorter than this are left alone: blanking a two-letter value would blank ordinary words. Default 4. */
  minLength?: number;
};

/** Replaces every occurrence of each secret. */
export function redact(text: string, secrets: readonly string[], options: RedactOptions = {}): string {
  const { marker = REDACTED, minLength = 4 } = options;
  let out = text;
  for (const secret of secrets) if (secret.length >= minLength) out = out.split(secret).join(marker);
  return out;
}

/**
 * The forms of a connection string that a driver's message may echo: the whole string, and its password both raw and
 * percent-decoded. A string that is not a URL is still returned whole.
 */
export function connectionSecrets(connectionString: string): string[] {
  const secrets = [connectionString];
  try {
    const password = new URL(connectionString).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL: the whole string is still redacted.
  }
  return secrets;
}
