/**
 * Prod's writes since the anchor, once a migrations promotion put the anchor back: the replaced prod (the backup) holds
 * them, and they are counted per table (the anchor restored without finalize next to the backup is the base), the
 * tables the run names in `reconcile.tables` are carried into the restored prod (a three-way merge: backup, anchor,
 * prod), and whatever is neither carried nor discarded on purpose keeps the backup, which then gets no expiry.
 */
import { ActivityFailure, ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { FailureDetails, ReconcileResult, SnapshotInfo, TableChanges } from '../../activities/contract';
import type { ProdWritesSinceFork } from '../contract/definitions';
import type { DatabaseRef } from '../contract/database-ref';
import type { PromoteOptions } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { neonMutations, reconciliation } from '../runtime/activity-options';
import type { Run } from '../runtime/run';
import type { Saga } from '../runtime/saga';
import { deleteBranch, deleteEndpoint } from '../steps/cleanup';
import type { Swap } from '../steps/restore';
import { sinceForkReport, tableKey } from './fork-writes';

/** applyMigration's ledger when the run names none: its rows since the anchor are the migrations' own records. */
const DEFAULT_LEDGER = 'public.neon_promote_migrations';

export type AnchorWrites = {
  /**
   * Prod's writes since the anchor, per table: the shape of a snapshot promotion's count since the fork, with the
   * anchor as `forkPoint`. `handling`: `carry` merged into the restored prod, `discard` let go on purpose
   * (`discardProdWrites`), `unhandled` only on the backup (a named table whose carry failed too; a table the
   * migrations dropped: on neither). Counts include what the migrations changed in rows themselves (a column added
   * with a default, or dropped, changes every row); the ledger's rows are left out. Null: not counted (see
   * `writesProblem`), or the anchor was not restored.
   */
  writesSinceAnchor: ProdWritesSinceFork | null;
  /** What the merge wrote into the restored prod; null when no named table had writes, or the merge failed. */
  carried: ReconcileResult | null;
  /** Why the count or the carry failed (e.g. a column a migration added holds prod's data), or null. */
  writesProblem: string | null;
};

export type AnchorWritesContext = {
  anchor: SnapshotInfo;
  /** The anchor's restore onto prod: `replacedBranchId` is the backup. */
  swap: Swap;
  prodEndpointId: string;
  migrationsApplied: number;
};

/**
 * Steps `writes_since_anchor` and `carry_writes`. The helpers (the anchor's branch, the backup's read-only endpoint)
 * go on `saga`; the caller deletes them before it gives the backup an expiry (Neon refuses one on a branch with
 * children). A failed activity is reported, not thrown: the backup then stays, holding what was not carried.
 */
export async function settleAnchorWrites(
  run: Run,
  saga: Saga,
  database: DatabaseRef,
  options: PromoteOptions,
  ctx: AnchorWritesContext,
): Promise<AnchorWrites> {
  const { projectId } = database;
  const backupBranchId = ctx.swap.replacedBranchId;
  const out: AnchorWrites = { writesSinceAnchor: null, carried: null, writesProblem: null };
  try {
    const sides = await run.step('writes_since_anchor', async (step) => {
      const { branch } = await neonMutations.restoreSnapshot({
        projectId,
        snapshotId: ctx.anchor.id,
        targetBranchId: backupBranchId,
        finalize: false,
        name: resourceName('rollback-state', workflowInfo().workflowId),
      });
      saga.add('delete_anchor_state', () => deleteBranch(projectId, branch.id));
      const base = await neonMutations.createEndpoint({ projectId, branchId: branch.id, type: 'read_only' });
      const source = await neonMutations.createEndpoint({ projectId, branchId: backupBranchId, type: 'read_only' });
      saga.add('delete_backup_endpoint', () => deleteEndpoint(projectId, source.endpoint.id));
      step.ids = { anchorSnapshotId: ctx.anchor.id, baseBranchId: branch.id, backupBranchId };
      const diff = await reconciliation.diffSinceFork({
        ...database,
        baseBranchId: branch.id,
        baseEndpointId: base.endpoint.id,
        sourceBranchId: backupBranchId,
        sourceEndpointId: source.endpoint.id,
        keys: (options.reconcile?.tables ?? []).map(({ table, key }) => ({ table, key })),
      });
      out.writesSinceAnchor = anchorReport(options, ctx, diff);
      step.detail = `${out.writesSinceAnchor.rowsChanged} row(s) since the anchor`;
      return { baseBranchId: branch.id, baseEndpointId: base.endpoint.id, sourceEndpointId: source.endpoint.id };
    });
    const report = out.writesSinceAnchor!;
    const written = new Set(report.tables.filter((t) => t.handling === 'carry').map((t) => tableKey(t.table)));
    // In the order given: parents before children.
    const tables = (options.reconcile?.tables ?? []).filter((table) => written.has(tableKey(table.table)));
    if (tables.length === 0) return out;
    await run.step('carry_writes', async (step) => {
      try {
        // The restored prod is the anchor, so only the application's writes since the restore can conflict.
        out.carried = await reconciliation.reconcileLateWrites({
          ...database,
          sourceBranchId: backupBranchId,
          sourceEndpointId: sides.sourceEndpointId,
          baseBranchId: sides.baseBranchId,
          baseEndpointId: sides.baseEndpointId,
          targetBranchId: ctx.swap.restoredBranchId,
          targetEndpointId: ctx.prodEndpointId,
          tables,
          onConflict: options.reconcile!.onConflict,
        });
        step.detail = `carried ${out.carried.tables.map(carriedCounts).join(', ')}`;
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        out.writesProblem = `not carried: ${carryFailure(err)}`;
        for (const table of report.tables) if (table.handling === 'carry') table.handling = 'unhandled';
        step.detail = out.writesProblem;
      }
    });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    out.writesProblem = `not counted: ${failureMessage(err)}`;
  }
  return out;
}

/** The count with the anchor as the fork point, the ledger's own rows left out. */
function anchorReport(
  options: PromoteOptions,
  ctx: AnchorWritesContext,
  diff: Parameters<typeof sinceForkReport>[2],
): ProdWritesSinceFork {
  const ledger = tableKey(options.migrations.ledgerTable ?? DEFAULT_LEDGER);
  const own = (table: string) => tableKey(table) === ledger;
  const tables = diff.tables.filter((table) => !own(table.table));
  const { id, name, createdAt } = ctx.anchor;
  // writePolicy is the snapshot strategy's: a migrations run carries every table it names.
  const report = sinceForkReport(
    { ...options, writePolicy: 'fence' },
    { snapshotId: id, name, createdAt },
    {
      ...diff,
      tables,
      tablesAdded: diff.tablesAdded.filter((table) => !own(table)),
      rowsChanged: tables.reduce((sum, table) => sum + table.inserts + table.updates + table.deletes, 0),
    },
  );
  if (ctx.migrationsApplied > 0)
    report.note = "the applied migrations' own changes to rows count as writes; the ledger's rows are not counted";
  return report;
}

/** What only the backup holds (tables with writes neither carried nor discarded), described; empty: nothing. */
export function leftOnBackup(writes: AnchorWrites): string[] {
  const report = writes.writesSinceAnchor;
  if (!report) return ["all of prod's writes since the anchor"];
  return [
    ...report.tables.filter((t) => t.handling === 'unhandled').map((t) => `${t.table} (${changes(t)})`),
    ...report.tablesAdded
      .filter((t) => t.handling === 'unhandled')
      .map((t) => `${t.table} (created since the anchor, with whatever rows it took)`),
  ];
}

/**
 * The rollback's account of prod's writes since the anchor: carried, let go on purpose, lost with a table a migration
 * dropped, and what is left on the backup (named by `backup`, which the caller keeps without expiry).
 */
export function describeAnchorWrites(writes: AnchorWrites, backup: string): string {
  const report = writes.writesSinceAnchor;
  const left = leftOnBackup(writes);
  const parts: string[] = [];
  if (report && report.rowsChanged === 0 && !report.tablesAdded.length && !report.tablesDropped.length)
    parts.push('prod took no writes since it');
  if (writes.carried) parts.push(`carried into prod: ${writes.carried.tables.map(carriedCounts).join(', ')}`);
  if (writes.writesProblem) parts.push(`prod's writes since the anchor ${writes.writesProblem}`);
  const discarded = report?.tables.filter((t) => t.handling === 'discard').map((t) => t.table) ?? [];
  if (discarded.length) parts.push(`let go on purpose (discardProdWrites): ${discarded.join(', ')}`);
  const dropped = report?.tablesDropped.filter((t) => t.handling !== 'discard').map((t) => t.table) ?? [];
  if (dropped.length)
    parts.push(`writes since the anchor to tables the migrations dropped are on neither: ${dropped.join(', ')}`);
  if (left.length) parts.push(`not in prod: ${left.join(', ')}; they are on ${backup}, kept without expiry`);
  return parts.join('; ');
}

const changes = (table: TableChanges): string =>
  `${table.inserts} inserted, ${table.updates} updated, ${table.deletes} deleted`;

const carriedCounts = (table: ReconcileResult['tables'][number]): string =>
  `${table.table} (${table.inserted} inserted, ${table.updated} updated, ${table.deleted} deleted` +
  `${table.conflicts ? `, ${table.conflicts} conflict(s)` : ''})`;

const failureMessage = (err: ActivityFailure): string => (err.cause ?? err).message;

/** A schema conflict named for this direction: the restored prod has the anchor's schema, not dev's. */
function carryFailure(err: ActivityFailure): string {
  const cause = err.cause;
  const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as FailureDetails | undefined) : undefined;
  const conflicts = cause instanceof ApplicationFailure && cause.type === 'ReconcileSchemaConflict';
  if (!conflicts || !details?.schemaConflicts?.length) return failureMessage(err);
  const places = details.schemaConflicts.map((c) => (c.column ? `column ${c.table}.${c.column}` : `table ${c.table}`));
  return (
    `the anchor's schema has no place for what prod wrote since it into ${places.join(', ')}, which the ` +
    'migrations added or changed (ReconcileSchemaConflict)'
  );
}
