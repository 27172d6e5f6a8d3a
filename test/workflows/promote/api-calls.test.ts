/**
 * What a promotion asks Neon, route by route, beyond its mutations and their polls: the reads it cannot do without,
 * and none that the run's own answers make unnecessary; and the activities after its rollback snapshot, where the
 * steps that always run back to back are one activity each. No endpoint look-up (the endpoints it makes are on branches
 * its own restores have just made), one snapshot list and one branch list (the plan's: a run that is its workflow's
 * first execution and finds none of its names there sends its restores and its finalize without looking for an
 * earlier execution's), and after a promoted run that lifted its fence the project's coordinator looks for no fence
 * left behind.
 */
import { coordinatorStateQuery, coordinatorWorkflowId } from '../../../src/workflows/contract/definitions';
import { appendLog, currentTestLog } from '../../support/test-logs';
import { projectWithChange, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

test('a promotion reads no endpoint list, one snapshot and one branch list, swaps and cleans up in one activity each, and leaves its coordinator nothing to lift', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    // The first promotion makes the fork point the second counts prod's writes since (the full path).
    expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
    const coordinator = s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId));
    const idle = async () => {
      while ((await coordinator.query(coordinatorStateQuery)).active !== null)
        await new Promise((r) => setTimeout(r, 100));
    };
    await idle();
    s.emu.resetRequestLog();
    const second = await s.client.startPromotion({ projectId: p.projectId });
    const result = await second.result();
    expect(result.outcome).toBe('promoted');
    expect(result.writes?.fence?.liftedAt).toEqual(expect.any(String));
    await idle();

    const log = s.emu.requestLog();
    const count = (route: string) => log.filter((e) => e.route === route).length;
    const byRoute: Record<string, number> = {};
    for (const e of log) byRoute[e.route] = (byRoute[e.route] ?? 0) + 1;
    appendLog(currentTestLog(), `${log.length} calls: ${JSON.stringify(byRoute, null, 1)}\n`);
    expect(count('GET /projects/{project_id}/branches/{branch_id}/endpoints')).toBe(0);
    expect(count('GET /projects/{project_id}/snapshots')).toBe(1);
    // Where a finalize passes the default flag on (the default rule), the backup's expiry is all the retirement
    // sends: no read of the backup, no set-as-default.
    expect(count('POST /projects/{project_id}/branches/{branch_id}/set_as_default')).toBe(0);
    expect(count('PATCH /projects/{project_id}/branches/{branch_id}')).toBe(1);
    expect(count('GET /projects/{project_id}/branches')).toBe(1);
    expect(count('GET /projects/{project_id}/branches/{branch_id}')).toBe(0);
    // Everything but the polls, whose number depends on how long each operation runs: the plan's 4 reads, 12
    // mutations (2 of them answered without an operation) and 4 connection strings.
    const polls =
      count('GET /projects/{project_id}/operations/{operation_id}') + count('GET /projects/{project_id}/operations');
    expect(log.length - polls).toBe(20);

    // The run's own history: after the rollback snapshot, the swap (the candidate's endpoint deleted, then the
    // finalize) is one activity and the clean-up (the fork point's branch, the rename, the old fork point, the
    // backup's expiry) another, each a Temporal round trip.
    const events = (await second.handle.fetchHistory()).events ?? [];
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    const workflowTasks = events.filter((e) => e.workflowTaskStartedEventAttributes).length;
    appendLog(
      currentTestLog(),
      `${activities.length} activities, ${workflowTasks} workflow tasks: ${activities.join(' ')}\n`,
    );
    expect(activities.slice(activities.lastIndexOf('ensureSnapshot') + 1)).toEqual([
      'finalizeRestore',
      'liftFence',
      'verifyBranch',
      'cleanUpSwap',
    ]);

    // The coordinator's history, every run of it: no fence lift after a run that lifted its own.
    const scheduled: string[] = [];
    for await (const run of s.t.client.workflow.list({
      query: `WorkflowId = '${coordinatorWorkflowId(p.projectId)}'`,
    })) {
      const history = await s.t.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      for (const e of history.events ?? [])
        if (e.activityTaskScheduledEventAttributes)
          scheduled.push(e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    }
    expect(scheduled).not.toContain('liftFence');
  });
}, 300_000);
