import type { ConflictRule } from '../../contract';

/** Row key (jsonb text of the key columns) -> hash of the compared columns. */
export type RowHashes = Map<string, string>;

export type LateChange = { kind: 'insert' | 'update' | 'delete' | 'upsert'; base?: string; source?: string };

/**
 * What old prod received after the snapshot. With the snapshot's state (`base`): exact inserts, updates and deletes.
 * Without it, `source` holds only the rows stamped after the snapshot: each is an upsert, and deletes are invisible.
 */
export function lateChanges(base: RowHashes | null, source: RowHashes): Map<string, LateChange> {
  const out = new Map<string, LateChange>();
  if (!base) {
    for (const [k, h] of source) out.set(k, { kind: 'upsert', source: h });
    return out;
  }
  for (const [k, h] of source) {
    const b = base.get(k);
    if (b === undefined) out.set(k, { kind: 'insert', source: h });
    else if (b !== h) out.set(k, { kind: 'update', base: b, source: h });
  }
  for (const [k, b] of base) if (!source.has(k)) out.set(k, { kind: 'delete', base: b });
  return out;
}

export type Plan = {
  insert: string[];
  update: string[];
  delete: string[];
  conflicts: string[];
  /** Late writes the target already holds (a retry after a committed run, or the same change on both sides). */
  alreadyPresent: number;
};

/**
 * Three-way decision per late change, with the target's current row: the target already equal to old prod's row ->
 * nothing to do; the target still as at the snapshot -> apply; anything else means both sides changed the row (or,
 * without a base, that the target has another version of it): a conflict, settled by the rule.
 */
export function decide(changes: Map<string, LateChange>, target: RowHashes, rule: ConflictRule): Plan {
  const plan: Plan = { insert: [], update: [], delete: [], conflicts: [], alreadyPresent: 0 };
  for (const [k, c] of changes) {
    const t = target.get(k);
    if (t === c.source) {
      plan.alreadyPresent++;
      continue;
    }
    const clean = c.kind === 'upsert' ? t === undefined : t === c.base;
    if (!clean) {
      plan.conflicts.push(k);
      if (rule !== 'keep_prod') continue;
    }
    if (c.source === undefined) plan.delete.push(k);
    else if (t === undefined) plan.insert.push(k);
    else plan.update.push(k);
  }
  return plan;
}
