/**
 * zod schemas of every workflow input, shared by the workflows (which validate first, before any Neon call) and the
 * client (which validates before starting anything). zod is pure, so it is safe in the workflow sandbox.
 */
import { z } from 'zod';
import type { VerificationCheck } from '../activities/types';
import { verificationCheck as sharedVerificationCheck } from '../shared/checks';
import { durationMs } from './duration';
import { notifyOptions } from './notify-input';

const DAY = 86_400_000;

export const neonId = z.string().regex(/^[a-z0-9-]{1,60}$/, 'expected a Neon ID ([a-z0-9-], at most 60 characters)');
/** Branch names are user-visible; control characters would hide what a name really is in logs and the UI. */
export const branchName = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');

/** The caller's checks (the verifyBranch activity validates them again with the same schema). */
export const verificationCheck: z.ZodType<VerificationCheck> = sharedVerificationCheck;

/** A check every database answers: used where the caller gave none (e.g. verifying a rollback). */
export const CONNECTIVITY_CHECK: VerificationCheck = {
  kind: 'sql',
  name: 'connect',
  sql: 'SELECT 1',
  expect: { value: 1 },
};

const checks = z.array(verificationCheck).max(100);

const ident = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
const column = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'expected a column name');

/** What happens to writes prod receives between the rollback snapshot and the swap (issue 7). */
export const writePolicy = z.enum(['fence', 'abort', 'reconcile', 'ignore']);

/** Tables whose late writes `reconcile` copies into the new prod (and `ignore` counts exactly), with their key. */
export const reconcileOptions = z.object({
  tables: z
    .array(
      z.object({
        table: z.string().regex(ident, 'expected table or schema.table'),
        key: z.array(column).min(1).max(32),
        timestampColumn: column.optional(),
      }),
    )
    .min(1)
    .max(200),
  onConflict: z.enum(['keep_prod', 'keep_dev', 'fail']).default('fail'),
});

/** Where dev's migrations are for `strategy: 'migrations'`: dev's ledger table (default) or a folder on the worker. */
export const migrationOptions = z.object({
  source: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('ledger') }),
      z.object({ kind: z.literal('folder'), path: z.string().min(1).max(1000) }),
    ])
    .default({ kind: 'ledger' }),
  ledgerTable: z.string().min(1).max(127).optional(),
});

/** Where the environments live and how to reach their data; every mutating workflow takes these. */
export const projectFields = {
  projectId: neonId,
  prodBranchName: branchName.default('prod'),
  devBranchName: branchName.default('dev'),
  databaseName: z.string().min(1).max(63).default('neondb'),
  roleName: z.string().min(1).max(63).default('neondb_owner'),
  /** A webhook called with the run's outcome (see README, Notifications). */
  notify: notifyOptions.optional(),
};

/** prod and dev must be two branches: a promotion of a branch onto itself would only lose data. */
const distinct = (i: { prodBranchName: string; devBranchName: string }) => i.prodBranchName !== i.devBranchName;

export const setupInput = z
  .object({ ...projectFields, protectProd: z.boolean().default(true) })
  .refine(distinct, { message: 'must differ from prodBranchName', path: ['devBranchName'] });

export const promoteInput = z
  .object({
    ...projectFields,
    /** Run on the restored candidate before the swap and on prod after it. */
    checks: checks.default([]),
    /** Extra checks for prod after the swap only (e.g. the application's health URL). */
    postSwapChecks: checks.default([]),
    dryRun: z.boolean().default(false),
    approval: z
      .object({ required: z.literal(true), timeout: durationMs({ min: 1000, max: 30 * DAY }).default(DAY) })
      .optional(),
    retention: z
      .object({
        rollbackSnapshot: durationMs({ min: 60_000, max: 30 * DAY }).default(30 * DAY),
        candidateSnapshot: durationMs({ min: 60_000, max: 30 * DAY }).default(DAY),
        /** How long the replaced prod ("old" backup) is kept; Neon deletes it at its expiry. */
        backupBranch: durationMs({ min: 1000, max: 30 * DAY }).default(3_600_000),
      })
      .prefault({}),
    requestedBy: z.string().min(1).max(200).optional(),
    /**
     * `snapshot`: prod becomes dev's snapshot (Neon's promotion). `migrations`: prod keeps its data and gets the
     * migrations of dev's ledger it lacks (seed 003).
     */
    strategy: z.enum(['snapshot', 'migrations']).default('snapshot'),
    /** Snapshot strategy only. Default `fence`: no write is lost and prod refuses writes only around the swap. */
    writePolicy: writePolicy.default('fence'),
    reconcile: reconcileOptions.optional(),
    migrations: migrationOptions.prefault({}),
  })
  .refine(distinct, { message: 'must differ from prodBranchName', path: ['devBranchName'] })
  .refine((i) => i.writePolicy !== 'reconcile' || i.reconcile !== undefined, {
    message: 'the reconcile policy needs the tables to reconcile',
    path: ['reconcile'],
  });

export const refreshInput = z
  .object({
    ...projectFields,
    /** Refresh even when dev has schema changes that prod does not have (they are lost from dev). */
    force: z.boolean().default(false),
    checks: checks.default([]),
    backupRetention: durationMs({ min: 1000, max: 30 * DAY }).default(3_600_000),
  })
  .refine(distinct, { message: 'must differ from prodBranchName', path: ['devBranchName'] });

export const rollbackInput = z
  .object({
    ...projectFields,
    snapshotId: neonId.optional(),
    snapshotName: branchName.optional(),
    checks: checks.default([]),
    backupRetention: durationMs({ min: 1000, max: 30 * DAY }).default(3_600_000),
  })
  .refine((i) => !(i.snapshotId && i.snapshotName), {
    message: 'give snapshotId or snapshotName, not both',
    path: ['snapshotId'],
  });

export const janitorInput = z.object({
  projectId: neonId,
  prodBranchName: branchName.default('prod'),
  devBranchName: branchName.default('dev'),
  /** Newest rollback snapshots always kept, whatever the quota. */
  keepRollbackSnapshots: z.number().int().min(1).max(50).default(2),
  /** Snapshot slots left free for the next promotion (it needs two). */
  reserveSnapshotSlots: z.number().int().min(0).max(10).default(2),
  notify: notifyOptions.optional(),
});

export const previewInput = z.object({
  projectId: neonId,
  devBranchName: branchName.default('dev'),
  /** Names the preview `preview-<label>` unless `name` is given. */
  label: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,60}$/, 'expected 1-60 of [A-Za-z0-9._-]')
    .optional(),
  name: branchName.optional(),
  /** Past Neon's 30-day cap a durable timer deletes the preview instead. */
  expiresIn: durationMs({ min: 60_000, max: 365 * DAY }).default(7 * DAY),
  notify: notifyOptions.optional(),
});

export const previewRef = z.object({
  projectId: neonId,
  name: branchName,
  devBranchName: branchName.default('dev'),
  notify: notifyOptions.optional(),
});
export const deletePreviewInput = previewRef.extend({
  /** Delete at this time instead of now (the durable expiry timer past Neon's 30-day cap). */
  at: z.iso.datetime({ offset: true }).optional(),
  /** Only delete the branch with this ID (a later preview of the same name is left alone). */
  branchId: neonId.optional(),
});

export type SetupInput = z.input<typeof setupInput>;
export type PromoteInput = z.input<typeof promoteInput>;
export type PromoteOptions = z.output<typeof promoteInput>;
export type RefreshInput = z.input<typeof refreshInput>;
export type RollbackInput = z.input<typeof rollbackInput>;
export type JanitorInput = z.input<typeof janitorInput>;
export type PreviewInput = z.input<typeof previewInput>;
export type PreviewRef = z.input<typeof previewRef>;
export type DeletePreviewInput = z.input<typeof deletePreviewInput>;
