import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

/**
 * Saves a finished run's history as test/histories/<name>.json when RECORD_HISTORIES=1,
 * so the replay test can prove later workflow changes stay compatible with it.
 */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(await handle.fetchHistory()) + '\n');
}

export type RecordedHistory = { name: string; history: temporal.api.history.v1.IHistory };

export function loadRecordedHistories(): RecordedHistory[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8'))),
    }));
}
