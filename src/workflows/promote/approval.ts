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
    const validator = (req: ApprovalRequest): void => {
      if (!this.required)
        throw ApplicationFailure.create({ type: 'NotWaiting', message: 'this run needs no approval' });
      if (!this.open)
        throw ApplicationFailure.create({ type: 'NotWaiting', message: 'this run is not waiting for approval' });
      if (typeof req?.by !== 'string' || req.by.trim() === '' || req.by.length > 200)
        throw ApplicationFailure.create({
          type: 'InvalidInput',
          message: 'invalid input: by: who decides (1-200 chars)',
        });
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
