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

const source = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ledger'), branchId: neonId, endpointId: neonId.optional() }),
  z.object({ kind: z.literal('folder'), path: z.string().min(1) }),
]);

const planInput = z.object({
  projectId: neonId,
  databaseName: z.string().min(1).max(63),
  roleName: z.string().min(1).max(63),
  source,
  prodBranchId: neonId,
  prodEndpointId: neonId.optional(),
  ledgerTable: z.string().min(1).max(127).optional(),
});

type Where = z.output<typeof planInput>;

/** Set for the migration's own transaction: gone afterwards if the migration's SQL ended that transaction itself. */
const MARK = "SET LOCAL neon_promote.in_migration = 'on'";
const MARKED = "SELECT current_setting('neon_promote.in_migration', true) = 'on' AS inside";

async function loadSource(deps: SessionDeps, w: Where, call: CallOptions): Promise<Migration[]> {
  const src: MigrationSource = w.source;
  if (src.kind === 'folder') return readFolder(src.path);
  const target = { ...w, branchId: src.branchId, endpointId: src.endpointId };
  const rows = await withBranch(deps, target, call, (s) => readLedger(s, w.ledgerTable ?? DEFAULT_LEDGER, true), {
    sqlFailure: 'MigrationFailed',
  });
  if (!rows)
    throw failure('InvalidInput', `branch ${src.branchId} has no ledger table ${w.ledgerTable ?? DEFAULT_LEDGER}`);
  return rows;
}

const prodTarget = (w: Where) => ({ ...w, branchId: w.prodBranchId, endpointId: w.prodEndpointId });

/**
 * Promotion by migrations (seed 003): prod keeps its data and gets the migrations it lacks, each in its own
 * transaction together with its ledger row. The rollback anchor (a snapshot of prod) is the workflow's part.
 */
export function migrationActivities(deps: ActivityDeps) {
  return {
    /** Which migrations prod lacks, in order; empty when dev and prod are at the same ledger position. */
    planMigrations: activity(planInput, async (w, call): Promise<MigrationPlan> => {
      ledgerName(w.ledgerTable); // refuses a bad name before anything is read
      const src = await loadSource(deps, w, call);
      const prod = await withBranch(
        deps,
        prodTarget(w),
        call,
        (s) => readLedger(s, w.ledgerTable ?? DEFAULT_LEDGER, false),
        {
          sqlFailure: 'MigrationFailed',
        },
      );
      return planFrom(src, prod);
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
      async (w, call): Promise<ApplyMigrationResult> => {
        const { id, checksum } = w.migration;
        const m = (await loadSource(deps, w, call)).find((x) => x.id === id);
        if (!m) throw writeFailure('LedgerDiverged', `the source no longer has migration "${id}"`, { migrationId: id });
        if (m.checksum !== checksum)
          throw writeFailure('LedgerDiverged', `migration "${id}" changed in the source since it was planned`, {
            migrationId: id,
          });
        const table = ledgerName(w.ledgerTable);
        const opts = {
          sqlFailure: 'MigrationFailed' as const,
          lockTimeoutMs: w.lockTimeoutMs ?? 10_000,
          statementTimeoutMs: w.statementTimeoutMs ?? 300_000,
        };
        return withBranch(
          deps,
          prodTarget(w),
          call,
          async (s) => {
            const started = Date.now();
            await s.query('BEGIN');
            try {
              await s.query(MARK);
              // Two appliers (a retry racing a slow first attempt) queue here instead of both running the SQL.
              await s.query("SELECT pg_advisory_xact_lock(hashtext('neon_promote_migrations'))");
              await s.query(ledgerDdl(w.ledgerTable));
              const [seen] = await s.query<{ checksum: string }>(`SELECT checksum FROM ${table} WHERE id = $1`, [id]);
              if (seen) {
                await s.query('ROLLBACK');
                if (seen.checksum === checksum) return { id, applied: false, durationMs: Date.now() - started };
                throw writeFailure('LedgerDiverged', `prod recorded migration "${id}" with another checksum`, {
                  migrationId: id,
                });
              }
              await s.query(m.sql).catch((err: unknown) => {
                // A dropped connection rolled the transaction back: withBranch makes that a retryable failure.
                if (isTransient(err)) throw err;
                throw writeFailure('MigrationFailed', `migration "${id}" failed: ${s.scrub(messageOf(err))}`, {
                  migrationId: id,
                  code: sqlState(err),
                });
              });
              const [mark] = await s.query<{ inside: boolean }>(MARKED);
              if (!mark?.inside)
                throw writeFailure(
                  'MigrationFailed',
                  `migration "${id}" ended the transaction itself (COMMIT or ROLLBACK in its SQL): part of it may be applied`,
                  { migrationId: id },
                );
              await s.query(`INSERT INTO ${table} (id, checksum, sql) VALUES ($1, $2, $3)`, [id, checksum, m.sql]);
              await s.query('COMMIT');
              return { id, applied: true, durationMs: Date.now() - started };
            } catch (err) {
              await s.query('ROLLBACK').catch(() => undefined);
              throw err;
            }
          },
          opts,
        );
      },
    ),
  } satisfies Partial<WriteActivities>;
}
