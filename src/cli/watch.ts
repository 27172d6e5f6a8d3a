import type { NeonPromoteClient } from '../client';
import type { StepRecord } from '../workflows/contract/definitions';
import { seconds, type Terminal } from './terminal';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Waits for `result` while showing the run's steps live from its progress query: each step as a line when it ends
 * (with its duration and detail), and on a terminal a spinner on the step that runs.
 */
export async function watchRun<R>(
  client: NeonPromoteClient,
  term: Terminal,
  workflowId: string,
  result: Promise<R>,
): Promise<R> {
  const shown = new Set<number>();
  let frame = 0;
  let finished = false;
  const settled = result.then(
    () => (finished = true),
    () => (finished = true),
  );
  const render = async (): Promise<void> => {
    let steps: StepRecord[];
    try {
      steps = (await client.getProgress(workflowId)).steps;
    } catch {
      return; // not started yet, or already closed and out of the cache: the next poll or the result tells
    }
    steps.forEach((step, i) => {
      if (shown.has(i) || step.status === 'running') return;
      shown.add(i);
      const took = term.dim(stepTime(step).padStart(7));
      term.line(`    ${mark(term, step)} ${step.name.padEnd(20)} ${took}${detail(term, step)}`);
    });
    const running = steps.find((step) => step.status === 'running');
    if (running) term.status(`    ${SPINNER[frame++ % SPINNER.length]} ${running.name} ...`);
  };
  while (!finished) {
    await render();
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 200))]);
  }
  await render(); // the last steps, which ended with the run
  return result;
}

function mark(term: Terminal, step: StepRecord): string {
  if (step.status === 'done') return term.green('✔');
  if (step.status === 'skipped') return term.dim('–');
  return term.red('✘');
}

function stepTime(step: StepRecord): string {
  if (step.status === 'skipped' || !step.endedAt) return '';
  return seconds(Date.parse(step.endedAt) - Date.parse(step.startedAt));
}

const detail = (term: Terminal, step: StepRecord): string =>
  step.detail ? `  ${term.dim(step.detail.slice(0, 100))}` : '';
