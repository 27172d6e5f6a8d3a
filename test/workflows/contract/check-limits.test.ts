/**
 * The limit on checks is one: what a promotion's input accepts is what verification runs on prod after the swap, where
 * `checks` and `postSwapChecks` go in one verifyBranch call. More is refused before anything starts, naming the field.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { VerificationCheck } from '../../../src/activities/contract';
import { MAX_CHECKS_PER_VERIFICATION } from '../../../src/shared/checks';
import { projectWithChange, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const passing = (count: number, prefix: string): VerificationCheck[] =>
  Array.from({ length: count }, (_, i) => ({
    kind: 'sql' as const,
    name: `${prefix} ${i + 1}`,
    sql: 'SELECT 1',
    expect: { value: 1 },
  }));

test('checks and postSwapChecks that together exceed one verification are refused before anything starts', async () => {
  const half = MAX_CHECKS_PER_VERIFICATION / 2 + 10;
  const input = { projectId: 'p-limits', checks: passing(half, 'pre'), postSwapChecks: passing(half, 'post') };
  s.emu.resetRequestLog();
  // Through the client: refused before the submission, so no coordinator and no run exist.
  const refused = await s.client.startPromotion(input).catch((e: unknown) => e);
  expect(refused).toMatchObject({ name: 'InvalidInputError', field: 'postSwapChecks' });
  expect((refused as Error).message).toMatch(/checks and postSwapChecks together: at most 100/);
  // Started directly, the workflow refuses it with the same schema before any Neon call.
  const worker = await s.worker();
  const err = await worker.runUntil(
    s.t.client.workflow
      .execute('promote', { taskQueue: s.t.taskQueue, workflowId: `limits-${Date.now()}`, args: [input] })
      .then(() => undefined)
      .catch((e: unknown) => e),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  expect(cause?.message).toContain('postSwapChecks');
  expect(s.emu.requestLog()).toEqual([]);
});

test('the most checks the input accepts is what verification runs: prod is verified with all of them', async () => {
  const half = MAX_CHECKS_PER_VERIFICATION / 2;
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const result = await s.client.promote({
      projectId: p.projectId,
      checks: passing(half, 'pre'),
      postSwapChecks: passing(half, 'post'),
    });
    expect(result.outcome).toBe('promoted');
    expect(result.verification.candidate?.checks).toHaveLength(half);
    expect(result.verification.prod?.checks).toHaveLength(MAX_CHECKS_PER_VERIFICATION);
  });
}, 180_000);
