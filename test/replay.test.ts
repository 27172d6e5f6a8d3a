import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { UNTRACED_SINKS } from '../src/worker';
import { loadRecordedHistories } from './support/histories';
import { bundleProductionWorkflows } from './support/workflow-bundle';

const histories = loadRecordedHistories();
// The same code a production worker runs (workflows plus their interceptors), bundled once for every history.
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  workflowBundle = await bundleProductionWorkflows();
});

test('there are recorded histories to replay', () => {
  expect(histories.map((h) => h.name)).toContain('health-check');
});

test('every recorded history replays cleanly', async () => {
  const failures: string[] = [];
  const replays = Worker.runReplayHistories(
    { workflowBundle, sinks: UNTRACED_SINKS },
    histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  for await (const r of replays) if (r.error) failures.push(`${r.workflowId}: ${String(r.error)}`);
  expect(failures).toEqual([]);
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
