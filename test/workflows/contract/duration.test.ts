import { promoteInput } from '../../../src/workflows/contract/inputs';

const rollbackRetention = (v: unknown) =>
  promoteInput().safeParse({ projectId: 'p-1', retention: { rollbackSnapshot: v } });
const refusal = (v: unknown): string => {
  const r = rollbackRetention(v);
  if (r.success) throw new Error(`accepted ${String(v)}`);
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

test('durations in short or long units, or milliseconds, are read as milliseconds', () => {
  const ms = (v: unknown) => (rollbackRetention(v) as { data: { retention: { rollbackSnapshot: number } } }).data;
  expect(ms('30 days').retention.rollbackSnapshot).toBe(30 * 86_400_000);
  expect(ms('24h').retention.rollbackSnapshot).toBe(86_400_000);
  expect(ms('90 minutes').retention.rollbackSnapshot).toBe(5_400_000);
  expect(ms('1.5h').retention.rollbackSnapshot).toBe(5_400_000);
  expect(ms(120_000).retention.rollbackSnapshot).toBe(120_000);
});

test('a duration in an unknown unit is refused naming the field, what a duration looks like, and what was given', () => {
  const message = refusal('3 fortnights');
  expect(message).toMatch(/^retention\.rollbackSnapshot: expected a duration like '30 days', '24h', '90m'/);
  expect(message).toContain("got '3 fortnights'");
  expect(message).not.toContain('Invalid input');
  expect(refusal(true)).toContain('got true');
  expect(refusal(1.5)).toContain('whole number of milliseconds');
  // Hostile text is quoted with its control characters escaped and cut short.
  expect(refusal(`x\u0007${'y'.repeat(100)}`)).toMatch(/got 'x\\u0007y{38}\.\.\.'$/);
});

test('bounds still apply after parsing', () => {
  expect(refusal('10s')).toBe('retention.rollbackSnapshot: must be at least 60000 ms');
  expect(refusal('31 days')).toContain('must be at most');
});
