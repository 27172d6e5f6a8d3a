/**
 * zod schemas of every workflow input, shared by the workflows (which validate first, before any Neon call) and the
 * client (which validates before starting anything). zod is pure, so it is safe in the workflow sandbox. zod/mini
 * (../shared/zod): the sandbox instantiates this module once per workflow execution (and again for every replay of
 * a workflow no longer in the worker's cache), and mini's schemas carry no closures.
 *
 * Each workflow's input schema is built on first use (`promoteInput()`), not when the module loads: a workflow
 * builds only its own, and the project coordinators (half of a fleet's workflows) build none: evaluating this module
 * and its imports is most of the time spent instantiating the bundle for a workflow, and schemas built eagerly make
 * every cached workflow larger (docs/BENCHMARKS.md has the measurements).
 */
import { z } from '../../shared/zod';
import type { VerificationCheck } from '../../activities/contract';
import { MAX_CHECKS_PER_VERIFICATION, verificationCheck as sharedVerificationCheck } from '../../shared/checks';
import { durationMs } from './duration';
import { notifyOptions } from './notify';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/**
 * The longest retention a run accepts for what it keeps. Neon caps a branch's expiry at 30 days ("Branch expiration");
 * snapshots, whose expiry Neon does not cap, are held to the same bound so that every retention follows one rule.
 */
const MAX_EXPIRY = 30 * DAY;
/** A schema built the first time it is asked for, then kept (per module instance: per workflow in the sandbox). */
export function lazy<S>(build: () => S): () => S {
  let schema: S | undefined;
  return () => (schema ??= build());
}

export const neonId = z
  .string()
  .check(z.regex(/^[a-z0-9-]{1,60}$/, 'expected a Neon ID ([a-z0-9-], at most 60 characters)'));
/** Branch names are user-visible; control characters would hide what a name really is in logs and the UI. */
export const branchName = z.string().check(
  z.minLength(1),
  z.maxLength(200),
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  z.refine((name: string) => !/[\u0000-\u001f\u007f]/.test(name), 'must not contain control characters'),
);

/** The caller's checks (the verifyBranch activity validates them again with the same schema). */
export const verificationCheck: z.ZodMiniType<VerificationCheck> = sharedVerificationCheck;

/** A check every database answers: used where the caller gave none (e.g. verifying a rollback). */
export const CONNECTIVITY_CHECK: VerificationCheck = {
  kind: 'sql',
  name: 'connect',
  sql: 'SELECT 1',
  expect: { value: 1 },
};

const checks = lazy(() => z.array(verificationCheck).check(z.maxLength(MAX_CHECKS_PER_VERIFICATION)));

/** Prod is verified after the swap with `checks` and `postSwapChecks` in one call: together they fit in it. */
const checksFitOneVerification = <T extends { checks: unknown[]; postSwapChecks: unknown[] }>() =>
  z.refine<T>((input) => input.checks.length + input.postSwapChecks.length <= MAX_CHECKS_PER_VERIFICATION, {
    message:
      `checks and postSwapChecks together: at most ${MAX_CHECKS_PER_VERIFICATION} ` +
      '(prod is verified with both after the swap)',
    path: ['postSwapChecks'],
  });

/** How long prod may stay fenced before the swap by default: the rollback snapshot and the write check take seconds. */
const FENCE_TIMEOUT_MS = 5 * 60_000;

const ident = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
/** A table in `discardProdWrites`, or `*` for all. */
const discardable = /^(\*|[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?)$/;
const column = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'expected a column name'));

/** What happens to writes prod receives between the rollback snapshot and the swap. */
export const writePolicy = z.enum(['fence', 'abort', 'reconcile', 'ignore']);

/**
 * Tables whose writes on prod since dev was forked are carried into the new prod (a three-way merge with the fork
 * point as the base), with their key; under `ignore` they are only counted, exactly.
 */
export const reconcileOptions = lazy(() =>
  z.object({
    tables: z
      .array(
        z.object({
          table: z.string().check(z.regex(ident, 'expected table or schema.table')),
          key: z.array(column).check(z.minLength(1), z.maxLength(32)),
          timestampColumn: z.optional(column),
        }),
      )
      .check(z.minLength(1), z.maxLength(200)),
    onConflict: z._default(z.enum(['keep_prod', 'keep_dev', 'fail']), 'fail'),
  }),
);

/** Where dev's migrations are for `strategy: 'migrations'`: dev's ledger table (default) or a folder on the worker. */
export const migrationOptions = lazy(() =>
  z.object({
    source: z._default(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('ledger') }),
        z.object({ kind: z.literal('folder'), path: z.string().check(z.minLength(1), z.maxLength(1000)) }),
      ]),
      { kind: 'ledger' },
    ),
    ledgerTable: z.optional(z.string().check(z.minLength(1), z.maxLength(127))),
  }),
);

/** Where the environments live and how to reach their data; every mutating workflow takes these. */
export const projectFields = () => ({
  projectId: neonId,
  prodBranchName: z._default(branchName, 'prod'),
  devBranchName: z._default(branchName, 'dev'),
  databaseName: z._default(z.string().check(z.minLength(1), z.maxLength(63)), 'neondb'),
  roleName: z._default(z.string().check(z.minLength(1), z.maxLength(63)), 'neondb_owner'),
  /** A webhook called with the run's outcome (see README, Notifications). */
  notify: z.optional(notifyOptions),
});

/** prod and dev must be two branches: a promotion of a branch onto itself would only lose data. */
const distinct = (input: { prodBranchName: string; devBranchName: string }) =>
  input.prodBranchName !== input.devBranchName;

/** The refusal of a devBranchName equal to prodBranchName. */
const distinctBranches = <T extends { prodBranchName: string; devBranchName: string }>() =>
  z.refine<T>(distinct, { message: 'must differ from prodBranchName', path: ['devBranchName'] });

export const setupInput = lazy(() =>
  z.object({ ...projectFields(), protectProd: z._default(z.boolean(), true) }).check(distinctBranches()),
);

/** The promotion's fields and the rules between them, before the defaults that depend on other fields. */
const promoteFields = () =>
  z
    .object({
      ...projectFields(),
      /** Run on the restored candidate before the swap and on prod after it. */
      checks: z._default(checks(), []),
      /** Extra checks for prod after the swap only (e.g. the application's health URL). */
      postSwapChecks: z._default(checks(), []),
      dryRun: z._default(z.boolean(), false),
      approval: z.optional(
        z.object({ required: z.literal(true), timeout: z._default(durationMs({ min: 1000, max: 30 * DAY }), DAY) }),
      ),
      retention: z.prefault(
        z.object({
          /**
           * How long the rollback snapshot is kept, counted from when it was taken; never less than the run that took
           * it, which may still roll prod back to it (steps/retention.ts).
           */
          rollbackSnapshot: z._default(durationMs({ min: 60_000, max: MAX_EXPIRY }), 30 * DAY),
          /** How long the replaced prod ("old" backup) is kept; Neon deletes it at its expiry. */
          backupBranch: z._default(durationMs({ min: 1000, max: 30 * DAY }), 3_600_000),
        }),
        {},
      ),
      requestedBy: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
      /**
       * `snapshot`: prod becomes dev's snapshot (Neon's promotion). `migrations`: prod keeps its data and gets the
       * migrations of dev's ledger it lacks.
       */
      strategy: z._default(z.enum(['snapshot', 'migrations']), 'snapshot'),
      /** Snapshot strategy only. Default `fence`: no write is lost and prod refuses writes only around the swap. */
      writePolicy: z._default(writePolicy, 'fence'),
      /**
       * `fence` only: the longest prod may stay fenced before the swap starts (the rollback snapshot and the write
       * check come between); past it the run lifts the fence and aborts, prod untouched. A swap once started finishes.
       */
      fenceTimeout: z._default(durationMs({ min: 1000, max: HOUR }), FENCE_TIMEOUT_MS),
      reconcile: z.optional(reconcileOptions()),
      /**
       * Tables whose writes on prod since dev was forked the new prod may lose on purpose (`*`: every table, and
       * whatever cannot be measured when no fork point is known). A table with such writes that is neither carried
       * (`reconcile.tables`) nor named here stops the promotion before the swap.
       */
      discardProdWrites: z._default(
        z.array(z.string().check(z.regex(discardable, "expected table, schema.table or '*'"))).check(z.maxLength(200)),
        [],
      ),
      migrations: z.prefault(migrationOptions(), {}),
    })
    .check(
      distinctBranches(),
      checksFitOneVerification(),
      z.refine((input) => input.writePolicy !== 'reconcile' || input.reconcile !== undefined, {
        message: 'the reconcile policy needs the tables to reconcile',
        path: ['reconcile'],
      }),
    );

export const promoteInput = lazy(promoteFields);

export const refreshInput = lazy(() =>
  z
    .object({
      ...projectFields(),
      /** Refresh even when dev has schema changes that prod does not have (they are lost from dev). */
      force: z._default(z.boolean(), false),
      checks: z._default(checks(), []),
      backupRetention: z._default(durationMs({ min: 1000, max: 30 * DAY }), 3_600_000),
    })
    .check(distinctBranches()),
);

export const rollbackInput = lazy(() =>
  z
    .object({
      ...projectFields(),
      snapshotId: z.optional(neonId),
      snapshotName: z.optional(branchName),
      checks: z._default(checks(), []),
      backupRetention: z._default(durationMs({ min: 1000, max: 30 * DAY }), 3_600_000),
    })
    .check(
      z.refine((input) => !(input.snapshotId && input.snapshotName), {
        message: 'give snapshotId or snapshotName, not both',
        path: ['snapshotId'],
      }),
    ),
);

export const janitorInput = lazy(() =>
  z.object({
    projectId: neonId,
    prodBranchName: z._default(branchName, 'prod'),
    devBranchName: z._default(branchName, 'dev'),
    /** Newest rollback snapshots always kept, whatever the quota. */
    keepRollbackSnapshots: z._default(z.number().check(z.int(), z.gte(1), z.lte(50)), 2),
    /** Snapshot slots left free for the next promotion (it needs two). */
    reserveSnapshotSlots: z._default(z.number().check(z.int(), z.gte(0), z.lte(10)), 2),
    /** The operator's pick: delete these snapshots (in the project's turn) and nothing else. */
    snapshotIds: z.optional(z.array(neonId).check(z.minLength(1), z.maxLength(100))),
    notify: z.optional(notifyOptions),
  }),
);

export const snapshotInventoryInput = lazy(() =>
  z.object({
    projectId: neonId,
    prodBranchName: z._default(branchName, 'prod'),
    devBranchName: z._default(branchName, 'dev'),
  }),
);
export type SnapshotInventoryInput = z.input<ReturnType<typeof snapshotInventoryInput>>;

export const previewInput = lazy(() =>
  z.object({
    projectId: neonId,
    devBranchName: z._default(branchName, 'dev'),
    /** Names the preview `preview-<label>` unless `name` is given. */
    label: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,60}$/, 'expected 1-60 of [A-Za-z0-9._-]'))),
    name: z.optional(branchName),
    /** Past Neon's 30-day cap a durable timer deletes the preview instead. */
    expiresIn: z._default(durationMs({ min: 60_000, max: 365 * DAY }), 7 * DAY),
    notify: z.optional(notifyOptions),
  }),
);

export const previewRef = lazy(() =>
  z.object({
    projectId: neonId,
    name: branchName,
    devBranchName: z._default(branchName, 'dev'),
    notify: z.optional(notifyOptions),
  }),
);
export const deletePreviewInput = lazy(() =>
  z.extend(previewRef(), {
    /** Delete at this time instead of now (the durable expiry timer past Neon's 30-day cap). */
    at: z.optional(z.iso.datetime({ offset: true })),
    /** Only delete the branch with this ID (a later preview of the same name is left alone). */
    branchId: z.optional(neonId),
  }),
);

/** listPreviews (list-previews.ts). Here, not there: the barrel exports that module's functions as workflow types. */
export const listPreviewsInput = lazy(() =>
  z.object({ projectId: neonId, devBranchName: z._default(branchName, 'dev') }),
);

/** `unfence`: prod's database, where the operator lifts a fence of ours. */
export const unfenceInput = lazy(() =>
  z.object({
    projectId: neonId,
    prodBranchName: z._default(branchName, 'prod'),
    databaseName: z._default(z.string().check(z.minLength(1), z.maxLength(63)), 'neondb'),
    roleName: z._default(z.string().check(z.minLength(1), z.maxLength(63)), 'neondb_owner'),
  }),
);

export type SetupInput = z.input<ReturnType<typeof setupInput>>;
export type PromoteInput = z.input<ReturnType<typeof promoteInput>>;
export type PromoteOptions = z.output<ReturnType<typeof promoteInput>>;
export type RefreshInput = z.input<ReturnType<typeof refreshInput>>;
export type RollbackInput = z.input<ReturnType<typeof rollbackInput>>;
export type JanitorInput = z.input<ReturnType<typeof janitorInput>>;
export type PreviewInput = z.input<ReturnType<typeof previewInput>>;
export type PreviewRef = z.input<ReturnType<typeof previewRef>>;
export type DeletePreviewInput = z.input<ReturnType<typeof deletePreviewInput>>;
export type ListPreviewsInput = z.input<ReturnType<typeof listPreviewsInput>>;
export type UnfenceInput = z.input<ReturnType<typeof unfenceInput>>;
