import { z } from 'zod';
import type { CallOptions } from '../../neon';
import type { ActivityDeps } from '../deps';
import { activity, failure } from '../failures';
import { neonId } from '../inputs';
import {
  DEFAULT_LEDGER,
  ledgerDdl,
  ledgerName,
  planFrom,
  readFolder,
  readLedger,
  type Migration,
} from './migrations-ledger';
import { writeFailure } from './writes/failures';
import { isTransient, messageOf, sqlState, withBranch, type SessionDeps } from './writes/session';
import type { ApplyMigrationResult, MigrationPlan, MigrationSource, WriteActivities } from '../contract';

const migrationSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ledger'), branchId: neonId, endpointId: neonId.optional() }),
  z.object({ kind: z.literal('folder'), path: z.string().min(1).max(1000) }),
]);

const planInput = z.object({
  projectId: neonId,
  databaseName: z.string().min(1).max(63),
  roleName: z.string().min(1).max(63),
  source: migrationSource,
  prodBranchId: neonId,
  prodEndpointId: neonId.optional(),
  ledgerTable: z.string().min(1).max(127).optional(),
});

/** The project, database and role a plan or an apply works on, where the migrations come from, and prod. */
type PlanInput = z.output<typeof planInput>;

/** Set for the migration's own transaction: gone afterwards if the migration's SQL ended that transaction itself. */
const MARK = "SET LOCAL neon_promote.in_migration = 'on'";
const MARKED = "SELECT current_setting('neon_promote.in_migration', true) = 'on' AS inside";

async function loadSource(deps: SessionDeps, input: PlanInput, call: CallOptions): Promise<Migration[]> {
  const source: MigrationSource = input.source;
  if (source.kind === 'folder') return readFolder(source.path);
  const ledger = input.ledgerTable ?? DEFAULT_LEDGER;
  const target = { ...input, branchId: source.branchId, endpointId: source.endpointId };
  const rows = await withBranch(deps, target, call, (session) => readLedger(session, ledger, true), {
    sqlFailure: 'MigrationFailed',
  });
  if (!rows) throw failure('InvalidInput', `branch ${source.branchId} has no ledger table ${ledger}`);
  return rows;
}

const prodDatabase = (input: PlanInput) => ({
  ...input,
  branchId: input.prodBranchId,
  endpointId: input.prodEndpointId,
});

/**
 * Promotion by migrations: prod keeps its data and gets the migrations it lacks, each in its own transaction
 * together with its ledger row. The rollback anchor (a snapshot of prod) is the workflow's part.
 */
export function migrationActivities(deps: ActivityDeps) {
  return {
    /** Which migrations prod lacks, in order; empty when dev and prod are at the same ledger position. */
    planMigrations: activity(planInput, async (input, call): Promise<MigrationPlan> => {
      ledgerName(input.ledgerTable); // refuses a bad name before anything is read
      const source = await loadSource(deps, input, call);
      const ledger = input.ledgerTable ?? DEFAULT_LEDGER;
      const prod = await withBranch(deps, prodDatabase(input), call, (session) => readLedger(session, ledger, false), {
        sqlFailure: 'MigrationFailed',
      });
      return planFrom(source, prod);
    }),

    /**
     * Applies one migration to prod in one transaction with its ledger row: it is either applied and recorded, or
     * neither. Already recorded with the same checksum: nothing is run (a retry after a lost response).
     */
    applyMigration: activity(
      planInput.extend({
        migration: z.object({ id: z.string().min(1).max(256), checksum: z.string().min(1).max(128) }),
        lockTimeoutMs: z.number().int().min(0).max(600_000).optional(),
        statementTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
      }),
      async (input, call): Promise<ApplyMigrationResult> => {
        const { id, checksum } = input.migration;
        const migration = (await loadSource(deps, input, call)).find((candidate) => candidate.id === id);
        if (!migration)
          throw writeFailure('LedgerDiverged', `the source no longer has migration "${id}"`, { migrationId: id });
        if (migration.checksum !== checksum)
          throw writeFailure('LedgerDiverged', `migration "${id}" changed in the source since it was planned`, {
            migrationId: id,
          });
        const table = ledgerName(input.ledgerTable);
        const options = {
          sqlFailure: 'MigrationFailed' as const,
          lockTimeoutMs: input.lockTimeoutMs ?? 10_000,
          statementTimeoutMs: input.statementTimeoutMs ?? 300_000,
        };
        return withBranch(
          deps,
          prodDatabase(input),
          call,
          async (session) => {
            const started = Date.now();
            await session.query('BEGIN');
            try {
              await session.query(MARK);
              // Two appliers (a retry racing a slow first attempt) queue here instead of both running the SQL.
              await session.query("SELECT pg_advisory_xact_lock(hashtext('neon_promote_migrations'))");
              await session.query(ledgerDdl(input.ledgerTable));
              const [seen] = await session.query<{ checksum: string }>(`SELECT checksum FROM ${table} WHERE id = $1`, [
                id,
              ]);
              if (seen) {
                await session.query('ROLLBACK');
                if (seen.checksum === checksum) return { id, applied: false, durationMs: Date.now() - started };
                throw writeFailure('LedgerDiverged', `prod recorded migration "${id}" with another checksum`, {
                  migrationId: id,
                });
              }
              await session.query(migration.sql).catch((err: unknown) => {
                // A dropped connection rolled the transaction back: withBranch makes that a retryable failure.
                if (isTransient(err)) throw err;
                throw writeFailure('MigrationFailed', `migration "${id}" failed: ${session.scrub(messageOf(err))}`, {
                  migrationId: id,
                  code: sqlState(err),
                });
              });
              const [mark] = await session.query<{ inside: boolean }>(MARKED);
              if (!mark?.inside)
                throw writeFailure(
                  'MigrationFailed',
                  `migration "${id}" ended the transaction itself (COMMIT or ROLLBACK in its SQL): part of it may be applied`,
                  { migrationId: id },
                );
              await session.query(`INSERT INTO ${table} (id, checksum, sql) VALUES ($1, $2, $3)`, [
                id,
                checksum,
                migration.sql,
              ]);
              await session.query('COMMIT');
              return { id, applied: true, durationMs: Date.now() - started };
            } catch (err) {
              await session.query('ROLLBACK').catch(() => undefined);
              throw err;
            }
          },
          options,
        );
      },
    ),
  } satisfies Partial<WriteActivities>;
}
