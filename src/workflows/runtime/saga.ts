import { CancellationScope, isCancellation, log } from '@temporalio/workflow';

type Compensation = { name: string; fn: () => Promise<void> };

/**
 * Compensations of a saga (samples-typescript saga, hardened): each is added only after its step succeeded, they run
 * last-in first-out in a non-cancellable scope (an operator's cancel must not cut the clean-up short), and a failing
 * compensation is logged and does not stop the others: the original failure is what the caller rethrows.
 */
export class Saga {
  private readonly stack: Compensation[] = [];

  add(name: string, fn: () => Promise<void>): void {
    this.stack.push({ name, fn });
  }

  /** Forgets compensations whose effect became permanent (e.g. the candidate branch once it is prod). */
  drop(...names: string[]): void {
    for (let i = this.stack.length - 1; i >= 0; i--) if (names.includes(this.stack[i]!.name)) this.stack.splice(i, 1);
  }

  get names(): string[] {
    return this.stack.map((compensation) => compensation.name);
  }

  /** Runs and clears every compensation, newest first. Returns the names of those that failed. */
  async compensate(): Promise<string[]> {
    const failed: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      while (this.stack.length > 0) {
        const compensation = this.stack.pop()!;
        try {
          await compensation.fn();
        } catch (err) {
          failed.push(compensation.name);
          log.error('compensation failed', { compensation: compensation.name, error: String(err) });
        }
      }
    });
    return failed;
  }
}

/** Runs `fn` so that a cancellation of the workflow cannot interrupt it (the swap, compensations, cleanup). */
export function shielded<T>(fn: () => Promise<T>): Promise<T> {
  return CancellationScope.nonCancellable(fn);
}

export { isCancellation };
