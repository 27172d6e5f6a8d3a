/**
 * Issue 7 in a snapshot promotion: prod's writes between the rollback snapshot and the swap would be lost (they stay
 * on the "(old)" backup only). Detection is always on; the write policy decides what happens to such writes.
 */
import { sleep } from '@temporalio/workflow';
import type { WriteComparison, WritePosition, WriteTarget } from '../../activities/contract';
import type { WriteReport } from '../contract/definitions';
import type { PromoteOptions } from '../contract/inputs';
import { compensations, databaseWrites, writeGuardSteps } from '../runtime/activity-options';
import type { Run } from '../runtime/run';
import { shielded, type Saga } from '../runtime/saga';
import type { Swap, Where } from '../steps/neon';
import { reconcileFromBackup } from './reconcile';

/** Open sessions' counters reach the shared statistics within about a second: wait that long before a second look. */
const STATS_LAG_MS = 1500;

export class WriteGuard {
  readonly report: WriteReport;
  private baseline: WritePosition | undefined;
  private fencedAt: string | undefined;

  constructor(
    private readonly run: Run,
    private readonly o: PromoteOptions,
    private readonly where: Where,
    private readonly prod: { branchId: string; endpointId: string },
  ) {
    this.report = {
      policy: o.writePolicy,
      detected: null,
      rowsChanged: 0,
      rowsChangedByTable: {},
      exact: null,
      fence: null,
      reconciled: null,
      lost: null,
      untrackedTables: [],
      note: null,
    };
    run.progress.writes = this.report;
  }

  private get target(): WriteTarget {
    return { ...this.where, branchId: this.prod.branchId, endpointId: this.prod.endpointId };
  }

  /**
   * Just before the rollback snapshot: the baseline position, so any write the snapshot may miss is counted. With
   * `fence`, prod is made read-only first (the lift registered before, since a fence may be up even if the call
   * seems to fail) and the baseline is exact.
   */
  async beforeSnapshot(saga: Saga): Promise<void> {
    if (this.o.writePolicy !== 'fence') {
      this.baseline = await this.run.step('write_position', () => writeGuardSteps.recordWritePosition(this.target));
      return;
    }
    this.baseline = await this.run.step('fence', async (s) => {
      // On record before the fence goes up (an activity, never local): re-run after the fence, this read would take
      // the fence for the owner's own read-only setting and leave it up.
      const before = await databaseWrites.recordWritePosition(this.target);
      this.report.fence = {
        fencedAt: null,
        liftedAt: null,
        fencedForMs: null,
        sessionsEnded: 0,
        remainingSessions: [],
      };
      if (before.databaseReadOnly) {
        s.detail = "prod is read-only already (its owner's setting): no fence raised, none to lift";
        return before;
      }
      saga.add('lift_fence', () => this.lift());
      // Shielded: a cancellation must not let the lift run while a fence is still being raised.
      const f = await shielded(() => writeGuardSteps.fenceWrites(this.target));
      this.fencedAt = f.fencedAt;
      Object.assign(this.report.fence, {
        fencedAt: f.fencedAt,
        sessionsEnded: f.sessionsEnded,
        remainingSessions: f.remainingSessions,
      });
      const stuck = f.remainingSessions.map((r) => `${r.count} of ${r.role}`).join(', ');
      s.detail = `prod read-only; ${f.sessionsEnded} session(s) ended${stuck ? `; could not end ${stuck}` : ''}`;
      return writeGuardSteps.recordWritePosition(this.target);
    });
  }

  /** Just before the swap: did prod take writes since the baseline? Returns why to stop (prod untouched), or null. */
  async beforeSwap(): Promise<string | null> {
    return this.run.step('check_writes', async (s) => {
      const since = this.baseline!;
      let now = await writeGuardSteps.recordWritePosition({ ...this.target, since });
      if (this.o.writePolicy === 'abort' && !now.comparison!.writesDetected && !now.comparison!.exact) {
        await sleep(STATS_LAG_MS);
        now = await writeGuardSteps.recordWritePosition({ ...this.target, since });
      }
      const c = now.comparison!;
      Object.assign(this.report, {
        detected: c.writesDetected,
        rowsChanged: c.rowsChanged,
        rowsChangedByTable: c.rowsChangedByTable,
        exact: c.exact,
      });
      if (this.o.writePolicy === 'reconcile') this.report.untrackedTables = untracked(c, this.o.reconcile!.tables);
      s.detail = describe(c);
      if (!c.writesDetected) return null;
      if (this.o.writePolicy === 'abort') return `prod received writes after the rollback snapshot (${s.detail})`;
      if (this.o.writePolicy === 'fence') return `writes got past the fence (${s.detail})`;
      return null;
    });
  }

  /** Right after the swap: lift the fence, copy or count the late writes. Returns why to roll back, or null. */
  async afterSwap(saga: Saga, swap: Swap, rollbackSnapshotId: string): Promise<string | null> {
    if (this.fencedAt) {
      await this.run.step('lift_fence', async (s) => {
        await this.lift(swap);
        saga.drop('lift_fence');
        s.detail = `prod refused writes for ${this.report.fence!.fencedForMs} ms`;
      });
    }
    const { writePolicy: policy, reconcile } = this.o;
    if (policy === 'ignore' && !reconcile) {
      const byTable = Object.fromEntries(
        Object.entries(this.report.rowsChangedByTable).map(([t, d]) => [t, d.inserts + d.updates + d.deletes]),
      );
      this.report.lost = { rows: this.report.rowsChanged, byTable, how: 'estimate' };
      this.report.note =
        'lost rows estimated from table statistics between just before the rollback snapshot and the last check ' +
        'before the swap; name the tables (reconcile.tables) for an exact count';
      return null;
    }
    if ((policy !== 'reconcile' && policy !== 'ignore') || !reconcile) return null;
    // Nothing to copy or count when no table moved (exact) since the baseline: skip the restore.
    if (this.report.detected === false && this.report.exact) return null;
    const dryRun = policy === 'ignore';
    const r = await reconcileFromBackup(this.run, saga, this.where, {
      swap,
      rollbackSnapshotId,
      prodEndpointId: this.prod.endpointId,
      options: reconcile,
      dryRun,
    });
    if ('conflict' in r) {
      this.report.note = r.conflict;
      return r.conflict;
    }
    this.report.reconciled = r;
    if (dryRun) {
      const byTable = Object.fromEntries(
        r.tables.map((t) => {
          const w = t.lateWrites;
          return [t.table, w.inserts + w.updates + w.deletes + w.upserts - t.alreadyPresent];
        }),
      );
      const rows = Object.values(byTable).reduce((a, b) => a + b, 0);
      this.report.lost = { rows, byTable, how: 'exact' };
    }
    return null;
  }

  /** What a rollback of prod to the rollback snapshot means for the late writes (reconcile and ignore). */
  rolledBack(backup: { id: string; name: string }): void {
    if (this.report.detected && (this.o.writePolicy === 'reconcile' || this.o.writePolicy === 'ignore')) {
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
    const { projectId, databaseName, roleName } = this.where;
    const base = { projectId, databaseName, roleName };
    if (swapped) {
      const r = await compensations.liftFence({
        ...base,
        branchId: swapped.restoredBranchId,
        endpointId: this.prod.endpointId,
        fencedAt: this.fencedAt,
      });
      Object.assign(this.report.fence!, { liftedAt: r.liftedAt, fencedForMs: r.fencedForMs });
      return;
    }
    const byName = await compensations.liftFence({
      ...base,
      branchName: this.o.prodBranchName,
      fencedAt: this.fencedAt,
    });
    await compensations.liftFence({ ...base, branchId: this.prod.branchId });
    // Prod took writes again once the swap finished: the figure is an upper bound by the lift's few milliseconds.
    Object.assign(this.report.fence!, { liftedAt: byName.liftedAt, fencedForMs: byName.fencedForMs });
  }
}

function describe(c: WriteComparison): string {
  if (!c.writesDetected) return `no writes since the baseline${c.exact ? '' : ' (sessions open: not exact)'}`;
  if (c.uncertain.length) return `cannot rule out writes: ${c.uncertain.join('; ')}`;
  const tables = Object.entries(c.rowsChangedByTable).map(([t, d]) => `${t} ${d.inserts + d.updates + d.deletes}`);
  const changes = [
    ...tables,
    ...c.tablesAdded.map((t) => `${t} created`),
    ...c.tablesDropped.map((t) => `${t} dropped`),
  ];
  return `${c.rowsChanged} row(s): ${changes.join(', ')}`;
}

/** Tables written since the baseline that the caller did not name: reconciliation leaves their late writes behind. */
function untracked(c: WriteComparison, tables: { table: string }[]): string[] {
  const norm = (t: string) => {
    const plain = t.replace(/"/g, '').toLowerCase();
    return plain.includes('.') ? plain : `public.${plain}`;
  };
  const named = new Set(tables.map((t) => norm(t.table)));
  return Object.keys(c.rowsChangedByTable).filter((t) => !named.has(norm(t)));
}
