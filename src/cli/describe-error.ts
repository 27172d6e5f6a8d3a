import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { InvalidInputError, ProjectBusyError } from '../client/input-errors';
import { EXIT, REFUSALS, Refusal, type ExitCode } from './exit';

/** The innermost ApplicationFailure of a failed run: the message an operator needs, not the wrapper's. */
function rootFailure(err: unknown): ApplicationFailure | undefined {
  let current: unknown = err;
  let found: ApplicationFailure | undefined;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) found = current;
    current = current.cause;
  }
  return found;
}

/**
 * One line for stderr and the exit code for any error a command can end with; `details`, a refusal's own (e.g. the
 * schema diff behind a refused refresh), for --json, and `hint`, where to find them, for the line.
 */
export function describeError(err: unknown): { code: ExitCode; message: string; details?: unknown; hint?: string } {
  if (err instanceof InvalidInputError) return { code: EXIT.invalidInput, message: err.message };
  if (err instanceof ProjectBusyError) return { code: EXIT.refused, message: err.message };
  if (err instanceof Refusal) return { code: EXIT.refused, message: `refused: ${err.message}` };
  if (err instanceof WorkflowFailedError) {
    if (err.cause instanceof CancelledFailure) return { code: EXIT.failed, message: 'the run was cancelled' };
    const root = rootFailure(err);
    if (root?.type === 'InvalidInput')
      return { code: EXIT.invalidInput, message: `invalid input: ${root.message.replace(/^invalid input: /, '')}` };
    if (root?.type && REFUSALS.has(root.type)) {
      const details = root.details?.[0];
      // The refusal's line says what and how many; the whole diff would flood a terminal.
      const hint = root.type === 'UnpromotedChanges' && details ? 'the full diff: the same command with --json' : null;
      return {
        code: EXIT.refused,
        message: `refused: ${root.message.split('\n')[0]}`,
        ...(details !== undefined ? { details } : {}),
        ...(hint ? { hint } : {}),
      };
    }
    return { code: EXIT.failed, message: `the run failed: ${root?.message ?? err.cause?.message ?? err.message}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT.failed, message: message.split('\n')[0] ?? message };
}
