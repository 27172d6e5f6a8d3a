/**
 * Input schemas of verification checks. They come from users, so every field is validated and named in errors.
 * Shared by the client, the workflows (which validate input before any Neon call) and the verifyBranch activity:
 * zod only (zod/mini, see ./zod), no I/O, so workflow code may import it.
 */
import { z } from './zod';

const comparison = z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']);
const checkName = z.optional(z.string().check(z.minLength(1), z.maxLength(100)));
/** "table" or "schema.table", unquoted identifiers (to_regclass folds case the way SQL does). */
const tableName = z
  .string()
  .check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'expected table or schema.table'));

export const sqlCheck = z.object({
  kind: z.literal('sql'),
  name: checkName,
  sql: z.string().check(z.minLength(1), z.maxLength(10_000)),
  expect: z
    .object({
      rowCount: z.optional(
        z.union([z.number().check(z.int(), z.gte(0)), z.object({ op: comparison, value: z.number() })]),
      ),
      value: z.optional(z.union([z.string(), z.number(), z.boolean(), z.null()])),
      compare: z.optional(z.object({ op: comparison, value: z.number() })),
    })
    .check(
      z.refine(
        (expect) => expect.rowCount !== undefined || expect.value !== undefined || expect.compare !== undefined,
        {
          message: 'set at least one of rowCount, value, compare',
        },
      ),
    ),
});

export const tablesExistCheck = z.object({
  kind: z.literal('tablesExist'),
  name: checkName,
  tables: z.array(tableName).check(z.minLength(1), z.maxLength(200)),
});

/**
 * A GET of a health page. The URL and the text are bounded: each is kept in the run's history, and a check's answer
 * says only whether the page includes a short marker (the worker reads the first 64 KiB), not what else it holds.
 */
export const httpCheck = z.object({
  kind: z.literal('http'),
  name: checkName,
  url: z.url({ protocol: /^https?$/ }).check(z.maxLength(2000)),
  expectStatus: z.optional(z.number().check(z.int(), z.gte(100), z.lte(599))),
  bodyIncludes: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  timeoutMs: z.optional(z.number().check(z.int(), z.gte(100), z.lte(60_000))),
});

export const verificationCheck = z.discriminatedUnion('kind', [sqlCheck, tablesExistCheck, httpCheck]);

/**
 * The most checks one verification runs on a branch (the verifyBranch activity refuses more). Input schemas bound
 * every list of checks by it, and a promotion's `checks` and `postSwapChecks` together, since prod is verified with
 * both after the swap: a list the activity would refuse must be refused before anything starts.
 */
export const MAX_CHECKS_PER_VERIFICATION = 100;
