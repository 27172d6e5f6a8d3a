import type { ConflictRule } from '../../contract';

/** Row key (jsonb text of the key columns) -> hash of the compared columns. */
export type RowHashes = Map<string, string>;

export type LateChange = { kind: 'insert' | 'update' | 'delete' | 'upsert'; base?: string; source?: string };

/** Which keys of one table to write to the target, by statement, and which conflict. */
export type RowPlan = {
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
export function decide(changes: Map<string, LateChange>, target: RowHashes, rule: ConflictRule): RowPlan {
  const plan: RowPlan = { insert: [], update: [], delete: [], conflicts: [], alreadyPresent: 0 };
  for (const [key, change] of changes) {
    const targetHash = target.get(key);
    if (targetHash === change.source) {
      plan.alreadyPresent++;
      continue;
    }
    const clean = change.kind === 'upsert' ? targetHash === undefined : targetHash === change.base;
    if (!clean) {
      plan.conflicts.push(key);
      if (rule !== 'keep_prod') continue;
    }
    if (change.source === undefined) plan.delete.push(key);
    else if (targetHash === undefined) plan.insert.push(key);
    else plan.update.push(key);
  }
  return plan;
}
