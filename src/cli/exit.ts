// Nothing of the Temporal SDK here: every command loads this module, `--help` too (errors: describe-error.ts).

/** Exit codes, documented in `neon-promote --help` and the README. */
export const EXIT = { ok: 0, failed: 1, invalidInput: 2, rolledBack: 3, refused: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export { REFUSALS } from '../shared/failure-types';

/** A refusal the CLI itself makes (no run was started): exit 4. */
export class Refusal extends Error {
  override readonly name = 'Refusal';
}

/** What a finished run's outcome means for the exit code; `rolled_back` is the goal of the rollback command only. */
export function exitForOutcome(outcome: string | null | undefined, command: string): ExitCode {
  switch (outcome) {
    case 'rolled_back':
      return command === 'rollback' ? EXIT.ok : EXIT.rolledBack;
    case 'aborted':
    case 'refused':
      return EXIT.refused;
    case 'failed':
    case 'cancelled':
      return EXIT.failed;
    default:
      return EXIT.ok;
  }
}
