import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { approveUpdate, rejectUpdate, type Approval, type ApprovalRequest } from '../contract/definitions';

/**
 * The approval gate of a promotion. Handlers are registered when the run starts so an early call is answered, but
 * the validators accept a decision only while the run waits for one: before the plan is known or after the gate,
 * the caller is told so and nothing lands in history.
 */
export class ApprovalGate {
  private open = false;
  private decision: Approval | null = null;

  constructor(private readonly required: boolean) {
    const validator = (req: unknown): void => {
      if (!this.required)
        throw ApplicationFailure.create({ type: 'NotWaiting', message: 'this run needs no approval' });
      if (!this.open)
        throw ApplicationFailure.create({ type: 'NotWaiting', message: 'this run is not waiting for approval' });
      const problem = problemOf(req);
      if (problem) throw ApplicationFailure.create({ type: 'InvalidInput', message: `invalid input: ${problem}` });
    };
    const decide =
      (approved: boolean) =>
      (req: ApprovalRequest): Approval => {
        this.decision = {
          approved,
          by: req.by,
          comment: req.comment?.slice(0, 1000) ?? null,
          at: new Date(Date.now()).toISOString(),
        };
        this.open = false;
        return this.decision;
      };
    setHandler(approveUpdate, decide(true), { validator });
    setHandler(rejectUpdate, decide(false), { validator });
  }

  /** The decision, or null when none came within `timeoutMs` (a durable timer: no polling). */
  async wait(timeoutMs: number): Promise<Approval | null> {
    this.open = true;
    try {
      await condition(() => this.decision !== null, timeoutMs);
    } finally {
      this.open = false;
    }
    return this.decision;
  }
}

/**
 * What is wrong with a decision request, or null. A raw Temporal client can send any payload: the validator refuses
 * what the handler could not record, since a handler that throws fails the workflow task and stalls the run.
 */
function problemOf(req: unknown): string | null {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return '(request): expected { by, comment? }';
  const { by, comment } = req as Record<string, unknown>;
  if (typeof by !== 'string' || by.trim() === '' || by.length > 200) return 'by: who decides (1-200 chars)';
  if (comment !== undefined && comment !== null && typeof comment !== 'string') return 'comment: text, if given';
  return null;
}
