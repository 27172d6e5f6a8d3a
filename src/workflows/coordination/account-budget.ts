/**
 * One rate budget per Neon account, shared by every worker that calls it: Neon limits an account, not a process, so
 * N workers each with a budget of their own would send N times the limit. This entity workflow (one per account hash,
 * started by the first worker's update-with-start) leases shares of the budget to the live workers; each worker's
 * local budget enforces the share it holds (src/worker/rate-lease.ts). budget-book.ts keeps the account and says why
 * the shares together never exceed the budget in any window of Neon's.
 *
 * A task queue's server-side activity rate limit cannot do this: one activity makes several Neon calls, on several
 * routes, and the limit counts activity starts per second, not requests per sliding minute and per route-second.
 *
 * Its handlers are synchronous, so renewals are handled one at a time in the order the server delivers them. Its
 * history is kept short by continuing as new with the book; it ends once no worker has renewed and nothing is charged
 * for a while (the next worker starts it again, with an empty book that is then true).
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  accountBudgetStateQuery,
  leaseUpdate,
  releaseUpdate,
  type LeaseRequest,
  type RateLimits,
  type ReleaseRequest,
} from '../contract/rate-lease';
import { isSpent, newBook, release, renew, stateOf, type BudgetBook } from './budget-book';

export type AccountBudgetInput = {
  /** From the predecessor (continue-as-new); absent on a fresh start. */
  book?: BudgetBook;
  /** Continue-as-new past this many events (lower in tests; at most the default). */
  maxHistoryEvents?: number;
};

const MAX_HISTORY_EVENTS = 2000;
const IDLE_LOOK = '1 hour';
const DEFAULT_BUDGET: RateLimits = { perMinute: 700, perSecondPerRoute: 40 };

export async function accountRateBudget(input: AccountBudgetInput = {}): Promise<void> {
  const book = input.book ?? newBook(workflowInfo().runId);
  const maxEvents = Math.min(MAX_HISTORY_EVENTS, Math.max(100, input.maxHistoryEvents ?? MAX_HISTORY_EVENTS));

  setHandler(accountBudgetStateQuery, () => stateOf(book, Date.now(), DEFAULT_BUDGET));
  setHandler(leaseUpdate, (req: LeaseRequest) => renew(book, req, Date.now()), {
    validator: (req: LeaseRequest) => refuseUnless(leaseProblemOf(req)),
  });
  setHandler(releaseUpdate, (req: ReleaseRequest) => release(book, req, Date.now()), {
    validator: (req: ReleaseRequest) => refuseUnless(releaseProblemOf(req)),
  });

  const historyIsLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;
  // Woken once in a while (one timer, not one per renewal) to end when no worker is live and every charge is spent:
  // nothing then needs remembering.
  while (!(await condition(historyIsLong, IDLE_LOOK))) {
    if (isSpent(book, Date.now())) {
      await condition(allHandlersFinished);
      if (isSpent(book, Date.now())) return;
    }
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof accountRateBudget>({
    book,
    ...(input.maxHistoryEvents ? { maxHistoryEvents: input.maxHistoryEvents } : {}),
  });
}

function refuseUnless(problem: string | null): void {
  if (problem) throw ApplicationFailure.create({ type: 'InvalidInput', message: `invalid input: ${problem}` });
}

const isCount = (n: unknown, least = 0): n is number => typeof n === 'number' && Number.isInteger(n) && n >= least;
const isLimits = (l: unknown, least: number): l is RateLimits =>
  typeof l === 'object' &&
  l !== null &&
  isCount((l as RateLimits).perMinute, least) &&
  isCount((l as RateLimits).perSecondPerRoute, least);
const isWorkerId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= 200;

/**
 * What is wrong with a renewal, or null. Anyone with access to the namespace can send one; the validator refuses what
 * the book could not count, since a handler that throws fails the workflow task and stalls every worker's renewals.
 */
function leaseProblemOf(req: unknown): string | null {
  if (typeof req !== 'object' || req === null) return 'expected a renewal';
  const r = req as Partial<LeaseRequest>;
  if (!isWorkerId(r.workerId)) return 'workerId: 1-200 characters';
  if (!isLimits(r.budget, 1)) return 'budget: whole numbers >= 1';
  if (r.applied !== null && (typeof r.applied !== 'string' || r.applied.length > 200))
    return 'applied: a lease ID or null';
  if (!isCount(r.renewal)) return 'renewal: a whole number >= 0';
  if (!isLimits(r.holding, 0) || !isLimits(r.used, 0)) return 'holding, used: whole numbers >= 0';
  if (!isCount(r.waiting)) return 'waiting: a whole number >= 0';
  return null;
}

function releaseProblemOf(req: unknown): string | null {
  if (typeof req !== 'object' || req === null) return 'expected a release';
  const r = req as Partial<ReleaseRequest>;
  if (!isWorkerId(r.workerId)) return 'workerId: 1-200 characters';
  if (!isCount(r.renewal)) return 'renewal: a whole number >= 0';
  if (!isLimits(r.used, 0)) return 'used: whole numbers >= 0';
  return null;
}
