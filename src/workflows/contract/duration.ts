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
const shown = (v: unknown): string => {
  const text = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v);
  return typeof v === 'string' ? `'${text.slice(1, -1)}'` : text;
};

function parse(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : null;
  if (typeof v !== 'string') return null;
  const [, n, unit] = SHAPE.exec(v.trim()) ?? [];
  const factor = unit === undefined ? undefined : UNIT_MS[unit.toLowerCase()];
  return n === undefined || factor === undefined ? null : Math.round(Number(n) * factor);
}

/**
 * A duration as milliseconds or a string such as "30 days", "30d", "1h", "90 minutes", "250ms". Bounded, because an
 * absurd retention or timeout (years, or zero) is a mistake the caller should hear about before anything runs. One
 * schema rather than a union, so that a refusal says what a duration looks like instead of zod's "Invalid input".
 */
export function durationMs({ min, max }: { min: number; max: number }) {
  const toMs = z.transform((v: number | string, ctx): number => {
    const ms = parse(v);
    if (ms !== null) return ms;
    ctx.issues.push({ code: 'custom', message: `${EXPECTED}; got ${shown(v)}`, input: v });
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
