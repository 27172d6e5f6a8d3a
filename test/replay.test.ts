import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { loadRecordedHistories } from './support/histories';

const histories = loadRecordedHistories();

test('there are recorded histories to replay', () => {
  expect(histories.map((h) => h.name)).toContain('health-check');
});

test.each(histories.map((h) => [h.name, h] as const))('recorded history %s replays cleanly', async (_name, h) => {
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../src/workflows') }, h.history, h.name);
});

test('a deliberately non-deterministic change to healthCheck fails replay', async () => {
  const h = histories.find((x) => x.name === 'health-check');
  if (!h) throw new Error('test/histories/health-check.json is missing');
  await expect(
    Worker.runReplayHistory(
      { workflowsPath: require.resolve('./fixtures/nondeterministic-workflows') },
      h.history,
      h.name,
    ),
  ).rejects.toBeInstanceOf(DeterminismViolationError);
});
