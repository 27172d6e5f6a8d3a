import { ApplicationFailure } from '@temporalio/common';
import { seedProject, type SeededProject } from '../../tools/emulator';
import { type Harness, startHarness } from '../support/activity-harness';

let h: Harness;
let seeded: SeededProject;
/** Everything that crossed an activity boundary, serialised the way Temporal would store it (and more). */
const recorded: string[] = [];

beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
  seeded = await seedProject(h.emu, { rows: 2 });
}, 120_000);
afterAll(() => h?.stop());

function dumpError(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as (Error & { cause?: unknown }) | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    parts.push(String(e.message), String(e.stack), JSON.stringify(e));
    if (e instanceof ApplicationFailure) parts.push(JSON.stringify(e.details));
  }
  return parts.join('\n');
}

/** Runs an activity and records its input and its result or error. */
async function rec<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O | undefined> {
  recorded.push(JSON.stringify(input));
  try {
    const out = await h.run(fn, input);
    recorded.push(JSON.stringify(out));
    return out;
  } catch (err) {
    recorded.push(dumpError(err));
    return undefined;
  }
}

describe('no secret crosses an activity boundary', () => {
  it('neither the API key nor any database password or connection string appears in inputs, results or errors', async () => {
    const a = h.activities;
    const { projectId, branchId, databaseName, roleName } = seeded;
    const wait = async (ids: string[] | undefined) => rec(a.waitForOperations, { projectId, operationIds: ids ?? [] });

    await rec(a.resolveEnvironment, { projectId, prodBranchName: 'main', devBranchName: 'dev' });
    // createBranch's Neon response carries connection_uris with the password: it must be dropped at the boundary.
    const child = await rec(a.createBranch, {
      projectId,
      name: 'child',
      parentId: branchId,
      endpointType: 'read_write',
    });
    await wait(child?.operationIds);
    const snap = await rec(a.ensureSnapshot, { projectId, branchId, name: 'np-secret-test' });
    await wait(snap?.operationIds);
    const preview = await rec(a.restoreSnapshot, {
      projectId,
      snapshotId: snap!.snapshot.id,
      targetBranchId: branchId,
      finalize: false,
      name: 'preview',
    });
    await wait(preview?.operationIds);
    // A preview restore has no compute: verifying it needs one (the workflow does the same).
    const ep = await rec(a.createEndpoint, { projectId, branchId: preview!.branch.id, type: 'read_write' });
    await wait(ep?.operationIds);
    const checks = [
      { kind: 'sql' as const, sql: 'SELECT current_user', expect: { value: roleName } },
      { kind: 'sql' as const, sql: 'SELECT id FROM items', expect: { rowCount: 99 } },
      { kind: 'tablesExist' as const, tables: ['missing_table'] },
    ];
    const base = { projectId, databaseName, roleName, checks };
    await rec(a.verifyBranch, { ...base, branchId: preview!.branch.id });
    await rec(a.verifyBranch, { ...base, branchId: preview!.branch.id, throwOnFailure: true });
    await rec(a.verifyBranch, { ...base, branchId: 'br-does-not-exist' });
    await rec(a.verifyBranch, { ...base, branchId, roleName: 'no_such_role' });
    await rec(a.compareSchema, { projectId, branchId: child!.branch.id, baseBranchId: branchId, databaseName });

    // Failures of every kind: faults on the API, a 404, a lost response, invalid input.
    h.emu.setFaults({
      rules: [
        { kind: 'rate_limit', route: 'GET /projects/{project_id}/snapshots', times: 1 },
        { kind: 'locked', route: 'PATCH /projects/{project_id}/branches/{branch_id}', times: 1 },
        { kind: 'error', route: 'GET /projects/{project_id}/branches', status: 500, times: 1 },
        { kind: 'response_lost', route: 'DELETE /projects/{project_id}/branches/{branch_id}', times: 1 },
      ],
    });
    await rec(a.listSnapshots, { projectId });
    await rec(a.renameBranch, { projectId, branchId: child!.branch.id, name: 'child-2' });
    await rec(a.listBranches, { projectId });
    await rec(a.deleteBranch, { projectId, branchId: child!.branch.id });
    h.emu.setFaults({ rules: [] });
    await rec(a.getBranch, { projectId, branchId: 'br-nope-404' });
    await rec(a.deleteSnapshot, { projectId, snapshotId: 'not a valid id' });
    await rec(a.finalizeRestore, { projectId, branchId: preview!.branch.id });

    // The secrets, fetched the way only tests and the verify activity may.
    const secrets = [h.emu.apiKey, seeded.connectionUri, new URL(seeded.connectionUri).password];
    for (const b of [branchId, child!.branch.id, preview!.branch.id]) {
      const query = `branch_id=${b}&database_name=${databaseName}&role_name=${roleName}`;
      const uri = await h
        .api('GET', `/projects/${projectId}/connection_uri?${query}`)
        .then((r): string | undefined => r.uri as string)
        .catch(() => undefined);
      if (uri) secrets.push(uri, new URL(uri).password);
    }
    const blob = recorded.join('\n');
    // The recording is real: results, verification details and every failure type are in it.
    expect(blob).toContain('expected 99 rows, got 2');
    expect(blob).toContain('missing tables: missing_table');
    for (const type of [
      'VerificationFailed',
      'NeonRateLimited',
      'NeonLocked',
      'NeonUnavailable',
      'NeonNotFound',
      'InvalidInput',
    ]) {
      expect(blob).toContain(type);
    }
    expect(secrets.every((s) => s.length >= 8)).toBe(true);
    for (const secret of secrets) expect(blob).not.toContain(secret);
  });
});
