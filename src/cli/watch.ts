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
    steps.forEach((s, i) => {
      if (shown.has(i) || s.status === 'running') return;
      shown.add(i);
      term.line(`    ${mark(term, s)} ${s.name.padEnd(20)} ${term.dim(stepTime(s).padStart(7))}${detail(term, s)}`);
    });
    const running = steps.find((s) => s.status === 'running');
    if (running) term.status(`    ${SPINNER[frame++ % SPINNER.length]} ${running.name} ...`);
  };
  while (!finished) {
    await render();
    await Promise.race([settled, new Promise((r) => setTimeout(r, 200))]);
  }
  await render(); // the last steps, which ended with the run
  return result;
}

function mark(term: Terminal, s: StepRecord): string {
  if (s.status === 'done') return term.green('✔');
  if (s.status === 'skipped') return term.dim('–');
  return term.red('✘');
}

function stepTime(s: StepRecord): string {
  if (s.status === 'skipped' || !s.endedAt) return '';
  return seconds(Date.parse(s.endedAt) - Date.parse(s.startedAt));
}

const detail = (term: Terminal, s: StepRecord): string => (s.detail ? `  ${term.dim(s.detail.slice(0, 100))}` : '');
