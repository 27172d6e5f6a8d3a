/**
 * Input schemas of verification checks. They come from users, so every field is validated and named in errors.
 * Shared by the client, the workflows (which validate input before any Neon call) and the verifyBranch activity:
 * zod only, no I/O, so workflow code may import it.
 */
import { z } from 'zod';

const comparison = z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']);
const checkName = z.string().min(1).max(100).optional();
/** "table" or "schema.table", unquoted identifiers (to_regclass folds case the way SQL does). */
const tableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'expected table or schema.table');

export const sqlCheck = z.object({
  kind: z.literal('sql'),
  name: checkName,
  sql: z.string().min(1).max(10_000),
  expect: z
    .object({
      rowCount: z.union([z.number().int().min(0), z.object({ op: comparison, value: z.number() })]).optional(),
      value: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
      compare: z.object({ op: comparison, value: z.number() }).optional(),
    })
    .refine((e) => e.rowCount !== undefined || e.value !== undefined || e.compare !== undefined, {
      message: 'set at least one of rowCount, value, compare',
    }),
});

export const tablesExistCheck = z.object({
  kind: z.literal('tablesExist'),
  name: checkName,
  tables: z.array(tableName).min(1).max(200),
});

export const httpCheck = z.object({
  kind: z.literal('http'),
  name: checkName,
  url: z.url({ protocol: /^https?$/ }),
  expectStatus: z.number().int().min(100).max(599).optional(),
  bodyIncludes: z.string().min(1).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});

export const verificationCheck = z.discriminatedUnion('kind', [sqlCheck, tablesExistCheck, httpCheck]);
