import { runDetails, runMetadata, runSummary } from '../../../src/workflows/contract/run-summary';

test("a run's summary names what it does, its project and branches; a run without a project names none", () => {
  expect(runSummary('promote', { projectId: 'p-1' })).toBe('promotion of project p-1: dev → prod');
  expect(runSummary('promote', { projectId: 'p-1', dryRun: true, devBranchName: 'staging' })).toBe(
    'dry-run promotion of project p-1: staging → prod',
  );
  expect(runSummary('refreshDev', { projectId: 'p-1', force: true })).toBe(
    'refresh of project p-1: prod → dev (forced)',
  );
  expect(runSummary('createPreview', { projectId: 'p-1', name: 'feature-x' })).toBe(
    'createPreview of project p-1: feature-x',
  );
  expect(runSummary('healthCheck', null)).toBe('healthCheck');
});

test("a run's details say what it does and the input's choices, never its SQL", () => {
  const details = runDetails('promote', {
    projectId: 'p-1',
    writePolicy: 'abort',
    checks: [{ kind: 'sql', name: 'items', sql: 'SELECT secret_column FROM items', expect: { value: 1 } }],
  });
  expect(details).toMatch(/^\*\*Project:\*\* p-1\n\nMakes dev's schema and data prod's/);
  expect(details).toContain('- writes to prod: abort');
  expect(details).toContain('- checks before the swap: 1: items');
  expect(details).not.toContain('secret_column');
  expect(runDetails('healthCheck', 'hello')).toBe(
    'Checks that a worker answers on the task queue.\n\nSteps and outcome: see the current details; `neon-promote status <workflow ID>` shows the same.',
  );
  expect(runMetadata('projectCoordinator', { projectId: 'p-1' }).staticDetails).toContain(
    'Not a promotion: the coordinator of one project.',
  );
});
