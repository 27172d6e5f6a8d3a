import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration as milliseconds or a string such as "30d", "1h", "90s", "250ms". Bounded, because an absurd retention or
 * timeout (years, or zero) is a mistake the caller should hear about before anything runs.
 */
export function durationMs({ min, max }: { min: number; max: number }) {
  return z
    .union([
      z.number().int(),
      z
        .string()
        .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'expected a duration like "250ms", "90s", "15m", "1h" or "30d"')
        .transform((s) => {
          const [, n = '0', unit = 'ms'] = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(s) ?? [];
          return Math.round(Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS]);
        }),
    ])
    .pipe(z.number().min(min, `must be at least ${min} ms`).max(max, `must be at most ${max} ms`));
}
