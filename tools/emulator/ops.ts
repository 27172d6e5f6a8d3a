import { ApiError } from './http';
import { operationId, rfc3339 } from './ids';
import type { Store } from './store';
import type { OperationRec, ProjectRec } from './types';

export type OpSpec = { action: string; branch_id?: string; endpoint_id?: string };

const TERMINAL = new Set(['finished', 'failed', 'error', 'cancelled', 'skipped']);
export const isTerminal = (op: OperationRec): boolean => TERMINAL.has(op.status);

/**
 * Operation lifecycle (scheduling -> running -> finished|failed) on a clock, and the project lock Neon enforces:
 * while a project has an unfinished operation, or a mutation is being carried out, another mutation gets 423.
 * The physical work is done before a mutation answers; operations only report on it, except that an operation due
 * to fail (fault injection) puts the project back as it was before the mutation when it fails.
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

  create(p: ProjectRec, specs: OpSpec[], willFail: boolean): OperationRec[] {
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
      ...(willFail ? { willFail: true } : {}),
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
        if (finishAll || now >= op.dueAt) {
          op.status = op.willFail ? 'failed' : 'finished';
          if (op.willFail) {
            op.error = 'operation failed (injected fault)';
            op.failures_count = 1;
            failed = true;
          }
        } else if (now >= op.runAt && op.status === 'scheduling') op.status = 'running';
        else continue;
        op.updated_at = rfc3339(now);
        op.total_duration_ms = Math.max(0, now - (op.runAt - 1));
        changed = true;
      }
      if (p.operations.some((o) => !isTerminal(o))) {
        if (changed) this.store.save();
        continue;
      }
      if ((failed || p.operations.some((o) => o.willFail)) && p.undo) {
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
      for (const o of p.operations) delete o.willFail;
      this.active.delete(id);
      this.store.save();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
