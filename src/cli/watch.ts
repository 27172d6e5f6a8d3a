import type { NeonPromoteClient } from '../client';
import type { StepRecord } from '../workflows/contract/definitions';
import { seconds, type Terminal } from './terminal';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Wide enough for the longest step name (retain_rollback_snapshot), so the times form a column. */
const NAME_WIDTH = 25;

export type WatchOptions = {
  /** A promotion waiting for approval: how long it waits (from the approval step's start), when the caller knows. */
  approvalTimeoutMs?: number;
};

/**
 * Steps in the order they ran: by start, and a step that started with another (a rollback inside the clean-up) by
 * which ended first, as the live view printed them.
 */
export function inRunOrder(steps: readonly StepRecord[]): StepRecord[] {
  const end = (step: StepRecord) => (step.endedAt ? Date.parse(step.endedAt) : Number.POSITIVE_INFINITY);
  return steps
    .map((step, index) => ({ step, index }))
    .sort(
      (a, b) =>
        Date.parse(a.step.startedAt) - Date.parse(b.step.startedAt) || end(a.step) - end(b.step) || a.index - b.index,
    )
    .map(({ step }) => step);
}

/** A step as one line: mark, name, duration (or how long it has run) and its detail. */
export function stepLine(term: Terminal, step: StepRecord, now = Date.now()): string {
  const took =
    step.status === 'skipped'
      ? ''
      : seconds((step.endedAt ? Date.parse(step.endedAt) : now) - Date.parse(step.startedAt));
  const shown = step.status === 'running' ? `${took} so far` : took;
  return `    ${mark(term, step)} ${step.name.padEnd(NAME_WIDTH)} ${term.dim(shown.padStart(7))}${detail(term, step)}`;
}

/**
 * Waits for `result` while showing the run's steps live from its progress query: each step as a line when it ends
 * (with its duration and detail), and on a terminal the running step with a spinner and its time so far. Ctrl-C
 * stops the watching, not the run: it says so and how to cancel it.
 */
export async function watchRun<R>(
  client: NeonPromoteClient,
  term: Terminal,
  workflowId: string,
  result: Promise<R>,
  options: WatchOptions = {},
): Promise<R> {
  const shown = new Set<string>();
  const hinted = new Set<string>();
  let frame = 0;
  let finished = false;
  const settled = result.then(
    () => (finished = true),
    () => (finished = true),
  );
  const started = Date.now();
  const onInterrupt = () => {
    term.line(`stopped watching; the run goes on without you: ${workflowId}`);
    term.line(`  follow it again: neon-promote status ${workflowId} --follow`);
    term.line(
      `  stop it:         neon-promote cancel ${workflowId} (before the swap it cleans up; after, prod is rolled back)`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const render = async (): Promise<void> => {
    let steps: StepRecord[];
    try {
      steps = inRunOrder((await client.getProgress(workflowId)).steps);
    } catch {
      // Not started yet, or already closed and out of the cache: the next poll or the result tells.
      term.status(`    ${SPINNER[frame++ % SPINNER.length]} starting ${term.dim(seconds(Date.now() - started))}`);
      return;
    }
    for (const step of steps) {
      const key = `${step.name}@${step.startedAt}`;
      if (step.status === 'running') {
        if (step.name === 'approval' && !hinted.has(key)) {
          hinted.add(key);
          for (const line of approvalHint(workflowId, step, options.approvalTimeoutMs)) term.line(line);
        }
        continue;
      }
      if (shown.has(key)) continue;
      shown.add(key);
      term.line(stepLine(term, step));
    }
    const running = steps.find((step) => step.status === 'running');
    const spin = SPINNER[frame++ % SPINNER.length];
    if (running) term.status(`${stepLine(term, running).replace('…', spin!)}`);
  };
  try {
    while (!finished) {
      await render();
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    await render(); // the last steps, which ended with the run
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  return result;
}

/** What a promotion waiting for approval needs from someone: the commands, and until when it waits. */
function approvalHint(workflowId: string, step: StepRecord, timeoutMs: number | undefined): string[] {
  const until = timeoutMs ? ` until ${new Date(Date.parse(step.startedAt) + timeoutMs).toISOString()}` : '';
  return [
    `    waiting for approval${until} (then it stops, prod untouched):`,
    `      neon-promote approve ${workflowId} --by <you> [--comment <text>]`,
    `      neon-promote reject ${workflowId} --by <you>`,
  ];
}

function mark(term: Terminal, step: StepRecord): string {
  if (step.status === 'done') return term.green('✔');
  if (step.status === 'skipped') return term.dim('–');
  if (step.status === 'running') return '…';
  return term.red('✘');
}

/** Step details as the workflow wrote them, with long millisecond counts read as seconds. */
const detail = (term: Terminal, step: StepRecord): string =>
  step.detail ? `  ${term.dim(readableDurations(step.detail).slice(0, 100))}` : '';

export const readableDurations = (text: string): string =>
  text.replace(/\b(\d{4,}) ms\b/g, (_match, ms: string) => seconds(Number(ms)));
