import { z } from '../../shared/zod';

const MS = 1;
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const UNIT_MS: Record<string, number> = {
  ms: MS, millisecond: MS, milliseconds: MS,
  s: S, sec: S, secs: S, second: S, seconds: S,
  m: M, min: M, mins: M, minute: M, minutes: M,
  h: H, hr: H, hrs: H, hour: H, hours: H,
  d: D, day: D, days: D,
  w: 7 * D, week: 7 * D, weeks: 7 * D,
}; // prettier-ignore

const SHAPE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i;
const EXPECTED = `expected a duration like '30 days', '24h', '90m', '250ms' or a whole number of milliseconds`;

/** The input as the message quotes it: short, and with control characters escaped (it may be hostile). */
const shown = (value: unknown): string => {
  const text =
    typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : String(value);
  return typeof value === 'string' ? `'${text.slice(1, -1)}'` : text;
};

function parse(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value !== 'string') return null;
  const [, amount, unit] = SHAPE.exec(value.trim()) ?? [];
  const factor = unit === undefined ? undefined : UNIT_MS[unit.toLowerCase()];
  return amount === undefined || factor === undefined ? null : Math.round(Number(amount) * factor);
}

/**
 * A duration as milliseconds or a string such as "30 days", "30d", "1h", "90 minutes", "250ms". Bounded, because an
 * absurd retention or timeout (years, or zero) is a mistake the caller should hear about before anything runs. One
 * schema rather than a union, so that a refusal says what a duration looks like instead of zod's "Invalid input".
 */
export function durationMs({ min, max }: { min: number; max: number }) {
  const toMs = z.transform((value: number | string, ctx): number => {
    const ms = parse(value);
    if (ms !== null) return ms;
    ctx.issues.push({ code: 'custom', message: `${EXPECTED}; got ${shown(value)}`, input: value });
    return z.NEVER;
  });
  return z.pipe(
    z.pipe(
      z.custom<number | string>(() => true),
      toMs,
    ),
    z.number().check(z.gte(min, `must be at least ${min} ms`), z.lte(max, `must be at most ${max} ms`)),
  );
}
