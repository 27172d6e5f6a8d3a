/**
 * Refresh: rewrite dev with prod's current data (snapshot prod -> restore onto dev with finalize -> wait -> verify ->
 * fingerprint dev -> clean up, the snapshot kept as the new fork point). Dev keeps its endpoint and connection
 * string.
 *
 * Refuses (ApplicationFailure `UnpromotedChanges`, naming what changed) unless `force`, when dev holds work that was
 * never promoted and the refresh would lose:
 * - schema: dev's schema differs from prod's (compare_schema);
 * - data: the fingerprint of dev's tables (public schema: per table row count and content hash) differs from the
 *   baseline, the fingerprint recorded by the project's latest completed run that set dev's data on purpose: a
 *   promotion with outcome promoted (the candidate's, i.e. dev's at its snapshot: `last_promotion`) or a refresh with
 *   outcome refreshed (dev's right after it: `last_refresh`). A project neon-promote never promoted or refreshed, or
 *   whose latest such run recorded no fingerprint (a promotion by migrations, or one older than fingerprints), is
 *   compared with prod's current data instead (`prod`), so prod's own writes since then read as dev's changes: the
 *   stricter rule when nothing better is known.
 * The result's `unpromotedChanges` says what differed and which baseline applied (with `force`: what was discarded).
 * Baselines come from Temporal itself (search attributes and the run's result), never from the databases, where they
 * would show up in schema diffs and be promoted.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { BranchWithEndpoints, FingerprintBranchResult } from '../../activities/contract';
import { changedTables, findRefreshBaseline, fingerprint, fingerprintOrNull } from '../steps/fingerprints';
import { databaseWrites, neonMutations, neonReads } from '../runtime/activity-options';
import { refreshInput, type RefreshInput } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { waitForTurn } from '../coordination/turn';
import { Run } from '../runtime/run';
import { Saga, isCancellation, shielded } from '../runtime/saga';
import { databaseRefOf, type DatabaseRef } from '../contract/database-ref';
import { limitRefusal, refuse } from '../contract/failures';
import { judged, orConnect, requireReadOnlyChecks, verify } from '../steps/checks';
import { deleteSnapshot, retireBackup } from '../steps/cleanup';
import { readWriteEndpoint, requireBranch, resolveEnvironment } from '../steps/environment';
import { restoreOnto } from '../steps/restore';
import { adoptForkPoint, currentForkPoint } from '../steps/fork-point';
import type { ForkPoint } from '../contract/definitions';
import { parseInput } from '../contract/validate';
import { REFRESH_NEEDS, requireRoom } from '../steps/limits';

export type UnpromotedChanges = {
  /** Dev's schema differed from prod's. */
  schema: boolean;
  /** Tables whose data differed from the baseline (or exist on one side only), sorted. */
  tablesChanged: string[];
  baseline: 'last_promotion' | 'last_refresh' | 'prod';
  /** The promotion or refresh whose fingerprint was the baseline (null: prod's current data was). */
  baselineWorkflowId: string | null;
};

export type RefreshResult = {
  outcome: 'refreshed';
  projectId: string;
  devBranchId: { before: string; after: string };
  /** Dev's schema differed from prod's and `force` discarded it. */
  discardedSchemaChanges: boolean;
  /** What dev held that was never promoted before the refresh (empty unless `force`). */
  unpromotedChanges: UnpromotedChanges;
  /** Dev's data right after the refresh: the next refresh's baseline. Null when it could not be read. */
  devFingerprint: FingerprintBranchResult | null;
  backupBranch: { id: string; expiresAt: string | null };
  /** The snapshot dev was forked from: prod's writes after it are what a promotion must carry or discard. */
  forkPoint: ForkPoint;
};

export async function refreshDev(raw: RefreshInput): Promise<RefreshResult> {
  const run = new Run('refreshDev');
  const options = parseInput(refreshInput(), raw);
  run.begin(options.projectId);
  await waitForTurn(run, raw);
  const { projectId } = options;
  const database = databaseRefOf(options);
  const id = workflowInfo().workflowId;
  const saga = new Saga();
  try {
    const plan = await run.step('plan', async (step) => {
      const env = await resolveEnvironment(options);
      const prod = requireBranch(env.prod, 'prod', options.prodBranchName);
      const dev = requireBranch(env.dev, 'dev', options.devBranchName);
      if (prod.id === dev.id) throw refuse(`prod and dev are the same branch (${prod.id})`, 'SameBranch');
      requireRoom('a refresh', REFRESH_NEEDS, env, projectId);
      // The checks run on dev once it holds prod's data: planned on prod.
      await requireReadOnlyChecks(
        database,
        { id: prod.id, endpointId: readWriteEndpoint(prod) },
        { checks: options.checks },
      );
      const diff = await neonReads.compareSchema({
        projectId,
        branchId: dev.id,
        baseBranchId: prod.id,
        databaseName: options.databaseName,
      });
      step.ids = { prodBranchId: prod.id, devBranchId: dev.id };
      const devEndpointId = readWriteEndpoint(dev);
      const changes = await unpromoted(database, prod, dev, !diff.identical);
      if ((changes.schema || changes.tablesChanged.length > 0) && !options.force) {
        // One line for a terminal and the UI; the whole diff and table list go in the details (the CLI's --json).
        throw refuse(
          `${describeChanges(changes, diff.diff)}; promote them or refresh with force`,
          'UnpromotedChanges',
          [
            {
              unpromotedChanges: changes,
              schemaDiff: changes.schema ? diff.diff : null,
              diffTruncated: diff.truncated,
            },
          ],
        );
      }
      return { prod, dev, devEndpointId, changes, forkPoint: currentForkPoint(env.snapshots) };
    });
    const snap = await run.step('snapshot_prod', async (step) => {
      const name = resourceName('refresh', id);
      // No expiry: it becomes the fork point, kept until the next fork; the saga deletes it if the refresh fails.
      const { snapshot } = await neonMutations.ensureSnapshot({ projectId, branchId: plan.prod.id, name });
      step.ids.snapshotId = snapshot.id;
      return snapshot;
    });
    saga.add('delete_refresh_snapshot', () => deleteSnapshot(projectId, snap.id));
    const swap = await run.step('swap', (step) =>
      shielded(async () => {
        const swapped = await restoreOnto(projectId, snap.id, plan.dev.id, {
          restored: resourceName('restore', id),
          old: resourceName('old', id),
        });
        step.ids = { devBranchId: swapped.restoredBranchId, backupBranchId: swapped.replacedBranchId };
        return swapped;
      }),
    );
    const check = await run.step('verify_dev', async (step) => {
      // Dev got prod's catalog with its data: a fence of ours up on prod at the snapshot (one an ended run left)
      // would keep dev read-only. Only ours: a read-only setting of the owner's came with prod's data on purpose.
      const copied = await databaseWrites.liftFence({
        ...database,
        branchId: swap.restoredBranchId,
        endpointId: plan.devEndpointId,
      });
      if (copied.wasFenced) step.detail = "lifted the write fence that came with prod's data";
      return judged(step, await verify(options, swap.restoredBranchId, plan.devEndpointId, orConnect(options.checks)));
    });
    if (!check.ok) {
      // Dev is not production: the old dev stays (without expiry) for whoever looks into it.
      throw refuse(
        `dev failed check "${check.failedCheck}" after the refresh; the old dev is kept as ${resourceName('old', id)}`,
        'VerificationFailed',
      );
    }
    const devFingerprint = await run.step('fingerprint_dev', () =>
      fingerprintOrNull(database, swap.restoredBranchId, plan.devEndpointId),
    );
    const { expiresAt, forkPoint } = await run.step('clean_up', async () => {
      saga.drop('delete_refresh_snapshot');
      await saga.compensate();
      return {
        forkPoint: await adoptForkPoint(projectId, snap.id, id, plan.forkPoint),
        expiresAt: await retireBackup(projectId, swap.replacedBranchId, swap.restoredBranchId, options.backupRetention),
      };
    });
    run.finish('refreshed');
    return {
      outcome: 'refreshed',
      projectId,
      devBranchId: { before: plan.dev.id, after: swap.restoredBranchId },
      discardedSchemaChanges: plan.changes.schema,
      unpromotedChanges: plan.changes,
      devFingerprint,
      backupBranch: { id: swap.replacedBranchId, expiresAt },
      forkPoint,
    };
  } catch (err) {
    await run.step('compensate', () => saga.compensate());
    // Neon refused a request for a plan limit and the saga undid what the run made: a refusal, not a failure.
    const refused = limitRefusal(err);
    if (refused) run.finish('refused', refused.message);
    else run.finish(isCancellation(err) ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
    throw refused ?? err;
  }
}

/** Dev's data against the baseline (see the rule above); `schema` is passed through. */
async function unpromoted(
  database: DatabaseRef,
  prod: BranchWithEndpoints,
  dev: BranchWithEndpoints,
  schema: boolean,
): Promise<UnpromotedChanges> {
  const [baseline, devNow] = await Promise.all([
    findRefreshBaseline({ projectId: database.projectId }),
    fingerprint(database, dev.id, readWriteEndpoint(dev)),
  ]);
  if (baseline?.fingerprint) {
    const tablesChanged = changedTables(baseline.fingerprint, devNow);
    return { schema, tablesChanged, baseline: baseline.kind, baselineWorkflowId: baseline.workflowId };
  }
  const prodNow = await fingerprint(database, prod.id, readWriteEndpoint(prod));
  return { schema, tablesChanged: changedTables(prodNow, devNow), baseline: 'prod', baselineWorkflowId: null };
}

/** The first few of `names`, and how many more. */
function firstFew(names: string[], few = 5): string {
  const shown = names.slice(0, few).join(', ');
  return names.length > few ? `${shown} and ${names.length - few} more` : shown;
}

/** The schema diff in a phrase: how many lines each way and the first objects it names. */
function schemaChange(diff: string): string {
  const changed = diff.split('\n').filter((line) => /^[+-]/.test(line) && !/^(\+\+\+|---)/.test(line));
  const added = changed.filter((line) => line.startsWith('+')).length;
  const objects = new Set<string>();
  const named =
    /\b(?:CREATE|ALTER|DROP)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|MATERIALIZED VIEW|SEQUENCE|FUNCTION|TYPE|SCHEMA)\s+(?:IF (?:NOT )?EXISTS\s+)?(?:ONLY\s+)?([\w."]+)/i;
  for (const line of changed) {
    const name = named.exec(line)?.[1];
    if (name) objects.add(name);
  }
  const lines = `${added} line(s) added and ${changed.length - added} removed in its schema dump`;
  return objects.size ? `${lines}, touching ${firstFew([...objects], 3)}` : lines;
}

function describeChanges(changes: UnpromotedChanges, diff: string): string {
  const tables = firstFew(changes.tablesChanged);
  const data =
    changes.baseline === 'prod'
      ? `its data differs from prod's in ${tables} (no promotion or refresh by neon-promote recorded dev's data, so prod's is the baseline)`
      : `its data changed since the ${changes.baseline === 'last_promotion' ? 'last promotion' : 'last refresh'} (${changes.baselineWorkflowId}) in ${tables}`;
  const what = [
    ...(changes.schema ? [`its schema differs from prod's (${schemaChange(diff)})`] : []),
    ...(changes.tablesChanged.length ? [data] : []),
  ];
  return `dev holds changes that were never promoted: ${what.join('; ')}`;
}
