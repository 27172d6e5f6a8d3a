/**
 * Prod's writes since dev was forked: counted before anything else happens (the fork point restored next to prod and
 * compared with it), then carried, discarded on purpose, or the promotion stops before the swap. A table prod wrote to
 * is carried when the run names it in `reconcile.tables` (a three-way merge after the swap, with the fork point as the
 * base, checked on the candidate before the swap), discarded when named in `discardProdWrites`, and otherwise stops
 * the run: the new prod is dev's data, so a write nobody named would be gone from prod without a word.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { DiffSinceForkResult, TableChanges } from '../../activities/contract';
import type { ForkWritesHandling, ProdWritesSinceFork } from '../contract/definitions';
import type { PromoteOptions } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { neonMutations, reconciliation } from '../runtime/activity-options';
import type { Candidate } from './candidate';
import type { Promotion } from './promotion';
import { deleteBranch } from '../steps/cleanup';

/** The fork point restored without finalize, with a read-only endpoint: the base of the count and of the carry. */
export type ForkBase = { branchId: string; endpointId: string };

/** "t" and "public.t" are one table; names are compared as Postgres folds unquoted ones. */
export const tableKey = (table: string): string => {
  const plain = table.replace(/"/g, '').toLowerCase();
  return plain.includes('.') ? plain : `public.${plain}`;
};

/** The tables whose writes since the fork are merged into the new prod: named ones, unless the policy is `ignore`. */
export function carriedTables(options: PromoteOptions): NonNullable<PromoteOptions['reconcile']>['tables'] {
  return options.reconcile && options.writePolicy !== 'ignore' ? options.reconcile.tables : [];
}

export function handlingOf(options: PromoteOptions, table: string): ForkWritesHandling {
  const name = tableKey(table);
  if (carriedTables(options).some((carried) => tableKey(carried.table) === name)) return 'carry';
  if (options.discardProdWrites.some((discarded) => discarded === '*' || tableKey(discarded) === name))
    return 'discard';
  return 'unhandled';
}

/** The report of a count, each table with what becomes of its writes. */
export function sinceForkReport(
  options: PromoteOptions,
  forkPoint: ProdWritesSinceFork['forkPoint'],
  diff: DiffSinceForkResult,
): ProdWritesSinceFork {
  const handled = (table: string) => ({ table, handling: handlingOf(options, table) });
  return {
    forkPoint,
    tables: diff.tables.map((table) => ({ ...table, handling: handlingOf(options, table.table) })),
    // A table prod created cannot be carried: dev's schema has no place for its rows.
    tablesAdded: diff.tablesAdded.map((table) => {
      const { handling } = handled(table);
      return { table, handling: handling === 'carry' ? 'unhandled' : handling };
    }),
    tablesDropped: diff.tablesDropped.map(handled),
    rowsChanged: diff.rowsChanged,
    note: null,
  };
}

const counts = (table: TableChanges): string =>
  `${table.inserts} inserted, ${table.updates} updated, ${table.deletes} deleted${table.exact ? '' : ', no key: rows compared whole'}`;

/** Why the run must stop before the swap (prod's writes nobody named), or null. */
export function unhandledWrites(report: ProdWritesSinceFork): string | null {
  const tables = [
    ...report.tables
      .filter((table) => table.handling === 'unhandled')
      .map((table) => `${table.table} (${counts(table)})`),
    ...report.tablesAdded.filter((t) => t.handling === 'unhandled').map((t) => `${t.table} (created on prod)`),
    ...report.tablesDropped.filter((t) => t.handling === 'unhandled').map((t) => `${t.table} (dropped on prod)`),
  ];
  if (tables.length === 0) return null;
  return (
    `prod took writes since dev was forked (${report.forkPoint!.createdAt}) that this promotion would drop: ` +
    `${tables.join(', ')}; carry them (reconcile.tables, --reconcile-table TABLE:KEY) or let them go on purpose ` +
    `(discardProdWrites, --discard-prod-writes TABLE)`
  );
}

export const NO_FORK_POINT =
  'no fork point is known for this project (dev was forked before neon-promote kept one, or a rollback cleared it), ' +
  "so prod's writes since dev was forked cannot be told from dev's edits";

/**
 * Step `prod_writes`: counts what prod changed since the fork, per table, and says whether the run may go on. The
 * fork point's branch stays for the carry after the swap (the saga deletes it; a promoted run's clean-up activity,
 * cleanUpSwap, does). Without a fork point nothing can be counted: the run stops unless `discardProdWrites` has `*`.
 */
export async function countSinceFork(promotion: Promotion): Promise<{ base: ForkBase | null; stop: string | null }> {
  const { run, options, plan, database, saga, guard, id } = promotion;
  const { projectId } = database;
  return run.step('prod_writes', async (step) => {
    const report = guard.report;
    if (!plan.forkPoint) {
      const discardAll = options.discardProdWrites.includes('*');
      report.sinceFork = {
        forkPoint: null,
        tables: [],
        tablesAdded: [],
        tablesDropped: [],
        rowsChanged: 0,
        note: discardAll ? `${NO_FORK_POINT}; let go on purpose (discardProdWrites '*')` : NO_FORK_POINT,
      };
      step.detail = 'no fork point known';
      const stop = `${NO_FORK_POINT}; refresh dev to record one, or promote with discardProdWrites '*' (--discard-prod-writes '*') to accept losing them`;
      return { base: null, stop: discardAll ? null : stop };
    }
    const { branch, alreadyDone } = await neonMutations.restoreSnapshot({
      projectId,
      snapshotId: plan.forkPoint.snapshotId,
      targetBranchId: plan.prodBranchId,
      finalize: false,
      name: resourceName('base', id),
      ...(promotion.firstExecution ? { firstExecution: true } : {}),
    });
    saga.add('delete_fork_base', () => deleteBranch(projectId, branch.id));
    const { endpoint } = await neonMutations.createEndpoint({
      projectId,
      branchId: branch.id,
      type: 'read_only',
      ...(alreadyDone ? {} : { branchIsNew: true }),
    });
    step.ids = { forkSnapshotId: plan.forkPoint.snapshotId, baseBranchId: branch.id };
    const diff = await reconciliation.diffSinceFork({
      ...database,
      baseBranchId: branch.id,
      baseEndpointId: endpoint.id,
      sourceBranchId: plan.prodBranchId,
      sourceEndpointId: plan.prodEndpointId,
      keys: (options.reconcile?.tables ?? []).map(({ table, key }) => ({ table, key })),
    });
    report.sinceFork = sinceForkReport(options, plan.forkPoint, diff);
    step.detail = describeSinceFork(report.sinceFork);
    return { base: { branchId: branch.id, endpointId: endpoint.id }, stop: unhandledWrites(report.sinceFork) };
  });
}

export function describeSinceFork(report: ProdWritesSinceFork): string {
  if (!report.forkPoint) return 'no fork point known';
  const changed = report.tables.map(
    (table) => `${table.table} ${table.inserts + table.updates + table.deletes} (${table.handling})`,
  );
  if (changed.length === 0 && !report.tablesAdded.length && !report.tablesDropped.length)
    return `no writes on prod since the fork (${report.forkPoint.createdAt})`;
  return `${report.rowsChanged} row(s) since the fork: ${changed.join(', ')}`;
}

/** Whether a carried table changed on prod since the fork: only then is there anything to merge. */
export function carriesAnything(promotion: Promotion): boolean {
  const report = promotion.guard.report.sinceFork;
  return !!report && report.tables.some((table) => table.handling === 'carry');
}

const STOPS_BEFORE_SWAP = new Set(['ReconcileConflict', 'ReconcileSchemaConflict', 'ReconcileFailed']);

/**
 * Step `check_carry`: the merge tried on the candidate as a dry run, before the fence and the swap, so a conflict
 * under the `fail` rule, or a change of dev's schema that prod's rows cannot follow (a dropped or retyped column
 * holding prod's data), stops the run while prod is untouched. Returns why to stop, or null.
 */
export async function checkCarry(promotion: Promotion, base: ForkBase, candidate: Candidate): Promise<string | null> {
  const { run, options, plan, database } = promotion;
  if (!carriesAnything(promotion)) return null;
  return run.step('check_carry', async (step) => {
    try {
      const tried = await reconciliation.reconcileLateWrites({
        ...database,
        sourceBranchId: plan.prodBranchId,
        sourceEndpointId: plan.prodEndpointId,
        baseBranchId: base.branchId,
        baseEndpointId: base.endpointId,
        targetBranchId: candidate.branchId,
        targetEndpointId: candidate.endpointId,
        tables: carriedTables(options),
        onConflict: options.reconcile!.onConflict,
        dryRun: true,
      });
      const conflicts = tried.tables.reduce((sum, table) => sum + table.conflicts, 0);
      step.detail = `the merge fits the candidate${conflicts ? ` (${conflicts} conflict(s), ${options.reconcile!.onConflict})` : ''}`;
      return null;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || !STOPS_BEFORE_SWAP.has(cause.type ?? '') || !cause.nonRetryable)
        throw err;
      step.detail = cause.message;
      return `prod's writes since the fork cannot be carried into the candidate: ${cause.message}`;
    }
  });
}
