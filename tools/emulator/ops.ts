import { ApiError } from './http';
import { operationId, rfc3339 } from './ids';
import type { Store } from './store';
import type { OperationFate, OperationRec, ProjectRec } from './types';

export type OpSpec = { action: string; branch_id?: string; endpoint_id?: string };

/** `error` is not among them: it is a failed attempt that Neon retries (the spec's failures_count and retry_at). */
const TERMINAL = new Set(['finished', 'failed', 'cancelled', 'skipped']);
export const isTerminal = (op: OperationRec): boolean => TERMINAL.has(op.status);

const fateOf = (op: OperationRec): OperationFate | undefined => op.fate ?? (op.willFail ? 'fail' : undefined);
/** Operations that end failed or cancelled leave their mutation undone. */
const undoes = (op: OperationRec): boolean => fateOf(op) === 'fail' || fateOf(op) === 'cancel';

/**
 * Operation lifecycle (scheduling -> running -> finished) on a clock, and the project lock Neon enforces: while a
 * project has an unfinished operation, or a mutation is being carried out, another mutation gets 423. The physical
 * work is done before a mutation answers; operations only report on it. A fault gives them another end (FaultKind):
 * running -> failed, cancelling -> cancelled (both put the project back as it was before the mutation when they end),
 * scheduling -> skipped, or running -> error -> finished.
 */
export class Operations {
  private readonly busy = new Set<string>();
  private readonly active = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly delay: () => number,
    private readonly onRollback: (p: ProjectRec, before: ProjectRec['undo']) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {
    for (const p of store.projects()) if (p.operations.some((o) => !isTerminal(o)) || p.undo) this.active.add(p.id);
  }

  locked(p: ProjectRec): boolean {
    return this.busy.has(p.id) || this.active.has(p.id);
  }

  /** Runs one mutation under the project lock; 423 if the project is locked. */
  async exclusive<T>(p: ProjectRec, fn: () => Promise<T>): Promise<T> {
    if (this.locked(p))
      throw new ApiError(
        423,
        'LOCKED',
        'project already has running conflicting operations, scheduling of new ones is prohibited',
      );
    this.busy.add(p.id);
    try {
      return await fn();
    } finally {
      this.busy.delete(p.id);
    }
  }

  create(p: ProjectRec, specs: OpSpec[], fate?: OperationFate): OperationRec[] {
    const now = Date.now();
    const d = this.delay();
    const ops = specs.map((s, i): OperationRec => ({
      id: operationId(),
      project_id: p.id,
      ...s,
      status: 'scheduling',
      failures_count: 0,
      created_at: rfc3339(now),
      updated_at: rfc3339(now),
      total_duration_ms: 0,
      runAt: now + Math.round((d * (i + 0.3)) / specs.length),
      dueAt: now + Math.round((d * (i + 1)) / specs.length),
      ...(fate ? { fate } : {}),
    }));
    p.operations.push(...ops);
    if (ops.length) this.active.add(p.id);
    return ops;
  }

  start(intervalMs = 10): void {
    this.timer = setInterval(
      () => void this.tick().catch((e: Error) => this.log(`operations: ${e.message}`)),
      intervalMs,
    );
    this.timer.unref();
  }

  /** Advances operations; `finishAll` ends every pending one now (at startup, for work a dead run already did). */
  async tick(now = Date.now(), finishAll = false): Promise<void> {
    for (const id of [...this.active]) {
      const p = this.store.state.projects[id];
      if (!p) {
        this.active.delete(id);
        continue;
      }
      let changed = false;
      let failed = false;
      for (const op of p.operations) {
        if (isTerminal(op)) continue;
        const next = nextStatus(op, now, finishAll);
        if (!next) continue;
        if (next === 'failed') failed = true;
        if (next === 'failed' || next === 'error') {
          op.error = `operation ${next === 'error' ? 'attempt failed, retrying' : 'failed'} (injected fault)`;
          op.failures_count++;
        }
        if (next === 'error') op.retry_at = rfc3339(now);
        op.status = next;
        op.updated_at = rfc3339(now);
        op.total_duration_ms = Math.max(0, now - (op.runAt - 1));
        changed = true;
      }
      if (p.operations.some((o) => !isTerminal(o))) {
        if (changed) this.store.save();
        continue;
      }
      if ((failed || p.operations.some(undoes)) && p.undo) {
        const before = p.undo;
        Object.assign(p, before);
        delete p.undo;
        this.log(`operations: project ${p.id} rolled back after a failed operation`);
        await this.onRollback(p, before);
      }
      const stamp = rfc3339(now);
      for (const b of p.branches)
        if (b.current_state !== 'ready') Object.assign(b, { current_state: 'ready', state_changed_at: stamp });
      for (const e of p.endpoints)
        if (e.current_state === 'init') Object.assign(e, { current_state: 'active', updated_at: stamp });
      for (const o of p.operations) {
        delete o.willFail;
        delete o.fate;
      }
      this.active.delete(id);
      this.store.save();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** The status an operation moves to now, or undefined if it stays as it is. */
function nextStatus(op: OperationRec, now: number, finishAll: boolean): OperationRec['status'] | undefined {
  const fate = fateOf(op);
  if (finishAll || now >= op.dueAt) {
    if (fate === 'fail') return 'failed';
    if (fate === 'cancel') return 'cancelled';
    if (fate === 'skip') return 'skipped';
    return 'finished';
  }
  if (now < op.runAt) return undefined;
  if (fate === 'skip') return undefined; // a skipped operation never runs
  if (fate === 'cancel') return op.status === 'cancelling' ? undefined : 'cancelling';
  // A retried operation fails its first attempt half-way through its run and runs again a quarter later.
  const mid = (op.runAt + op.dueAt) / 2;
  if (fate === 'error' && op.failures_count === 0 && now >= mid) return 'error';
  if (op.status === 'error') return now >= (mid + op.dueAt) / 2 ? 'running' : undefined;
  if (op.status === 'scheduling') return 'running';
  return undefined;
}
