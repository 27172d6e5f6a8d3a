import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './polling';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

/**
 * Saves a finished run's history as test/histories/<name>.json when RECORD_HISTORIES=1,
 * so the replay test can prove later workflow changes stay compatible with it.
 */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(await handle.fetchHistory()) + '\n');
}

/**
 * With RECORD_HISTORIES=1: saves the history of a completed run of `workflowType` that a test started through the CLI
 * (whose workflow ID the test does not know), found through visibility.
 */
export async function maybeRecordCompletedRun(client: Client, workflowType: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const query = `WorkflowType = '${workflowType}' AND ExecutionStatus = 'Completed'`;
  const run = await until(
    `a completed ${workflowType} run in visibility`,
    async () => {
      for await (const info of client.workflow.list({ query })) return info;
      return undefined;
    },
    Boolean,
  );
  await maybeRecordHistory(client.workflow.getHandle(run!.workflowId, run!.runId), name);
}

/** A recorded run: its file's name, its history, and the workflow ID it ran under (replay must run under it too). */
export type RecordedHistory = { name: string; workflowId: string; history: temporal.api.history.v1.IHistory };

export function loadRecordedHistories(): RecordedHistory[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const name = f.replace(/\.json$/, '');
      const history = historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8')));
      // A workflow may derive IDs from its own (its children's, say): replayed under another, they would differ.
      const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || name;
      return { name, workflowId, history };
    });
}
