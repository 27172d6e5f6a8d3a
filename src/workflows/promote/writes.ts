/**
 * Writes to prod during a snapshot promotion: those between the rollback snapshot and the swap would be lost (they
 * stay on the "(old)" backup only). Detection is always on; the write policy decides what happens to such writes.
 * Prod's writes from the fork up to the promotion are counted first (fork-writes.ts); the carry after the swap merges
 * both windows at once, with the fork point as the base, so no row is carried twice.
 */
import { CancellationScope, sleep, workflowInfo } from '@temporalio/workflow';
import type { WriteComparison, WritePosition, WriteTarget } from '../../activities/contract';
import type { WriteReport } from '../contract/definitions';
import type { PromoteOptions } from '../contract/inputs';
import { compensations, databaseWrites, writeGuardSteps } from '../runtime/activity-options';
import type { Run } from '../runtime/run';
import { shielded, type Saga } from '../runtime/saga';
import type { DatabaseRef } from '../contract/database-ref';
import type { Swap } from '../steps/restore';
import { noticeFence } from '../coordination/fences';
import { reconcileFromBackup } from './reconcile';
import { handlingOf, tableKey, type ForkBase } from './fork-writes';

/** Open sessions' counters reach the shared statistics within about a second: wait that long before a second look. */
const STATS_LAG_MS = 1500;

export class WriteGuard {
  readonly report: WriteReport;
  private baseline: WritePosition | undefined;
  private fencedAt: string | undefined;
  /** The fence's bound: a timer that lifts it unless the swap starts first (see armBound). */
  private bound: CancellationScope | undefined;
  /** Set once the bound passed before the swap: why the run stops, and the lift it started. */
  private expired: { why: string; lifted: Promise<void> } | undefined;
  private swapping = false;

  constructor(
    private readonly run: Run,
    private readonly options: PromoteOptions,
    private readonly database: DatabaseRef,
    private readonly prod: { branchId: string; endpointId: string },
  ) {
    this.report = {
      policy: options.writePolicy,
      detected: null,
      rowsChanged: 0,
      rowsChangedByTable: {},
      exact: null,
      fence: null,
      reconciled: null,
      lost: null,
      untrackedTables: [],
      sinceFork: null,
      note: null,
    };
    run.progress.writes = this.report;
  }

  private get target(): WriteTarget {
    return { ...this.database, branchId: this.prod.branchId, endpointId: this.prod.endpointId };
  }

  /**
   * Just before the rollback snapshot: the baseline position, so any write the snapshot may miss is counted. With
   * `fence`, prod is made read-only first (the lift registered before, since a fence may be up even if the call
   * seems to fail) and the baseline is exact. The project's coordinator hears of the fence first: it lifts it if
   * this run ends without doing so (terminated). A fence of ours found up is one an earlier run left (this run
   * holds the project's turn, so that run has ended): it is lifted, and this run raises its own.
   */
  async beforeSnapshot(saga: Saga): Promise<void> {
    if (this.options.writePolicy !== 'fence') {
      this.baseline = await this.run.step('write_position', () => writeGuardSteps.recordWritePosition(this.target));
      return;
    }
    this.baseline = await this.run.step('fence', async (step) => {
      // On record before the fence goes up (an activity, never local): re-run after the fence, this read would take
      // the fence for one an earlier run left, or for the owner's own read-only setting.
      const [before] = await Promise.all([
        databaseWrites.recordWritePosition(this.target),
        noticeFence(this.database.projectId, {
          workflowId: workflowInfo().workflowId,
          prodBranchName: this.options.prodBranchName,
          databaseName: this.database.databaseName,
          roleName: this.database.roleName,
        }),
      ]);
      this.report.fence = {
        fencedAt: null,
        liftedAt: null,
        fencedForMs: null,
        sessionsEnded: 0,
        remainingSessions: [],
      };
      const { projectId, databaseName, roleName } = this.database;
      const left = before.databaseReadOnly
        ? await databaseWrites.liftFence({ projectId, databaseName, roleName, ...this.prod })
        : null;
      if (left?.ownerReadOnly) {
        step.detail = "prod is read-only already (its owner's setting): no fence raised, none to lift";
        return before;
      }
      saga.add('lift_fence', () => this.lift());
      // Shielded: a cancellation must not let the lift run while a fence is still being raised.
      const fence = await shielded(() => writeGuardSteps.fenceWrites({ ...this.target, position: true }));
      this.fencedAt = fence.fencedAt;
      this.armBound();
      Object.assign(this.report.fence, {
        fencedAt: fence.fencedAt,
        sessionsEnded: fence.sessionsEnded,
        remainingSessions: fence.remainingSessions,
      });
      const stuck = fence.remainingSessions.map((sessions) => `${sessions.count} of ${sessions.role}`).join(', ');
      step.detail =
        (left?.wasFenced ? 'lifted the fence an earlier run left on prod; ' : '') +
        `prod read-only; ${fence.sessionsEnded} session(s) ended${stuck ? `; could not end ${stuck}` : ''}`;
      return fence.position ?? writeGuardSteps.recordWritePosition(this.target);
    });
  }

  /**
   * The fence's bound: unless the swap has started `fenceTimeout` after the fence went up (the rollback snapshot or
   * the write check is slow: Neon down, every mutation retrying), the fence is lifted then, and the run stops before
   * the swap. The step in flight is not cut short: it finishes (a rollback snapshot it made is then deleted) and the
   * swap never starts. Once the swap has started it finishes, under the fence: the timer is cancelled.
   */
  private armBound(): void {
    const { fenceTimeout } = this.options;
    const scope = new CancellationScope();
    this.bound = scope;
    scope
      .run(() => sleep(fenceTimeout))
      .then(
        () => {
          if (this.swapping) return;
          const lifted = this.run
            .step('lift_fence', async (step) => {
              await shielded(() => this.lift());
              step.detail = `the swap had not started ${fenceTimeout} ms after the fence went up`;
            })
            // Failed for good (the lift retries until it succeeds): the saga's lift_fence, still registered, tries again.
            .catch(() => undefined);
          this.expired = {
            why: `the swap had not started ${fenceTimeout} ms after the fence went up (fenceTimeout): fence lifted`,
            lifted,
          };
        },
        () => undefined, // cancelled: the swap started in time, or the run was cancelled
      );
  }

  /** Just before the swap: did prod take writes since the baseline? Returns why to stop (prod untouched), or null. */
  async beforeSwap(): Promise<string | null> {
    if (this.expired) return this.stopExpired();
    const stop = await this.checkWrites();
    // From here the fence stays up for the swap: the timer, should it fire before the swap step starts, finds this.
    if (this.expired) return this.stopExpired();
    this.swapping = true;
    this.bound?.cancel();
    return stop;
  }

  private async stopExpired(): Promise<string> {
    await this.expired!.lifted;
    return this.expired!.why;
  }

  private async checkWrites(): Promise<string | null> {
    return this.run.step('check_writes', async (step) => {
      const since = this.baseline!;
      let now = await writeGuardSteps.recordWritePosition({ ...this.target, since });
      if (this.options.writePolicy === 'abort' && !now.comparison!.writesDetected && !now.comparison!.exact) {
        await sleep(STATS_LAG_MS);
        now = await writeGuardSteps.recordWritePosition({ ...this.target, since });
      }
      const comparison = now.comparison!;
      Object.assign(this.report, {
        detected: comparison.writesDetected,
        rowsChanged: comparison.rowsChanged,
        rowsChangedByTable: comparison.rowsChangedByTable,
        exact: comparison.exact,
      });
      if (this.options.writePolicy === 'reconcile')
        this.report.untrackedTables = untracked(comparison, this.options.reconcile!.tables);
      step.detail = describe(comparison);
      if (!comparison.writesDetected) return null;
      if (this.options.writePolicy === 'abort')
        return `prod received writes after the rollback snapshot (${step.detail})`;
      if (this.options.writePolicy === 'fence') return `writes got past the fence (${step.detail})`;
      const dropped = this.report.untrackedTables.filter((table) => handlingOf(this.options, table) === 'unhandled');
      if (dropped.length)
        return `prod took writes during the promotion in tables it does not carry or discard: ${dropped.join(', ')}`;
      return null;
    });
  }

  /**
   * Right after the swap: lift the fence, carry (or, under `ignore`, count) the named tables' writes since the fork
   * point, or since the rollback snapshot when no fork point is known. Returns why to roll back, or null.
   */
  async afterSwap(
    saga: Saga,
    swap: Swap,
    rollbackSnapshotId: string,
    forkBase: ForkBase | null,
  ): Promise<string | null> {
    if (this.fencedAt) {
      await this.run.step('lift_fence', async (step) => {
        await this.lift(swap);
        saga.drop('lift_fence');
        step.detail = `prod refused writes for ${this.report.fence!.fencedForMs} ms`;
      });
    }
    const { writePolicy: policy, reconcile } = this.options;
    if (policy === 'ignore' && !reconcile) {
      const byTable = Object.fromEntries(
        Object.entries(this.report.rowsChangedByTable).map(([table, delta]) => [
          table,
          delta.inserts + delta.updates + delta.deletes,
        ]),
      );
      this.report.lost = { rows: this.report.rowsChanged, byTable, how: 'estimate' };
      this.report.note =
        'lost rows estimated from table statistics between just before the rollback snapshot and the last check ' +
        'before the swap; name the tables (reconcile.tables) for an exact count';
      return null;
    }
    if (!reconcile) return null;
    // Under fence and abort no write of the promotion's own window reaches the swap; under the others, none did when
    // no table moved (exact) since the baseline.
    const windowWrites =
      (policy === 'reconcile' || policy === 'ignore') && !(this.report.detected === false && this.report.exact);
    const named = new Set(reconcile.tables.map(({ table }) => tableKey(table)));
    const sinceFork = (this.report.sinceFork?.tables ?? []).some(({ table }) => named.has(tableKey(table)));
    if (!windowWrites && !sinceFork) return null;
    const dryRun = policy === 'ignore';
    const reconciled = await reconcileFromBackup(this.run, saga, this.database, {
      swap,
      rollbackSnapshotId,
      forkBase,
      prodEndpointId: this.prod.endpointId,
      options: reconcile,
      dryRun,
    });
    if ('conflict' in reconciled) {
      this.report.note = reconciled.conflict;
      return reconciled.conflict;
    }
    this.report.reconciled = reconciled;
    if (dryRun) {
      const byTable = Object.fromEntries(
        reconciled.tables.map((table) => {
          const late = table.lateWrites;
          return [table.table, late.inserts + late.updates + late.deletes + late.upserts - table.alreadyPresent];
        }),
      );
      const rows = Object.values(byTable).reduce((sum, count) => sum + count, 0);
      this.report.lost = { rows, byTable, how: 'exact' };
    }
    return null;
  }

  /** What a rollback of prod to the rollback snapshot means for the late writes (reconcile and ignore). */
  rolledBack(backup: { id: string; name: string }): void {
    if (this.report.detected && (this.options.writePolicy === 'reconcile' || this.options.writePolicy === 'ignore')) {
      this.report.note =
        `prod was rolled back to the rollback snapshot: its ${this.report.rowsChanged} late row change(s) are only ` +
        `on the backup ${backup.name} (${backup.id}) until it expires`;
    }
  }

  /**
   * After the swap: lifts on the restored branch through prod's endpoint. Otherwise (a compensation, where the swap
   * may or may not have happened): by name (whatever branch is prod now) and by the original ID (the "(old)" backup
   * after a swap).
   */
  private async lift(swapped?: Swap): Promise<void> {
    const { projectId, databaseName, roleName } = this.database;
    const base = { projectId, databaseName, roleName };
    if (swapped) {
      const lifted = await compensations.liftFence({
        ...base,
        branchId: swapped.restoredBranchId,
        endpointId: this.prod.endpointId,
        fencedAt: this.fencedAt,
      });
      Object.assign(this.report.fence!, { liftedAt: lifted.liftedAt, fencedForMs: lifted.fencedForMs });
      return;
    }
    const byName = await compensations.liftFence({
      ...base,
      branchName: this.options.prodBranchName,
      fencedAt: this.fencedAt,
    });
    await compensations.liftFence({ ...base, branchId: this.prod.branchId });
    // Prod took writes again once the swap finished: the figure is an upper bound by the lift's few milliseconds.
    Object.assign(this.report.fence!, { liftedAt: byName.liftedAt, fencedForMs: byName.fencedForMs });
  }
}

function describe(comparison: WriteComparison): string {
  if (!comparison.writesDetected)
    return `no writes since the baseline${comparison.exact ? '' : ' (sessions open: not exact)'}`;
  if (comparison.uncertain.length) return `cannot rule out writes: ${comparison.uncertain.join('; ')}`;
  const tables = Object.entries(comparison.rowsChangedByTable).map(
    ([table, delta]) => `${table} ${delta.inserts + delta.updates + delta.deletes}`,
  );
  const changes = [
    ...tables,
    ...comparison.tablesAdded.map((table) => `${table} created`),
    ...comparison.tablesDropped.map((table) => `${table} dropped`),
  ];
  return `${comparison.rowsChanged} row(s): ${changes.join(', ')}`;
}

/** Tables written since the baseline that the caller did not name: reconciliation leaves their late writes behind. */
function untracked(comparison: WriteComparison, tables: { table: string }[]): string[] {
  const named = new Set(tables.map((tracked) => tableKey(tracked.table)));
  return Object.keys(comparison.rowsChangedByTable).filter((table) => !named.has(tableKey(table)));
}
