/**
 * The retention of a rollback snapshot. Neon takes a snapshot's expiry only when the snapshot is taken (its update
 * call renames, nothing more), so a run takes its rollback snapshot without expiry, keeps it as long as it may have to
 * roll prod back, and then starts this timer, which deletes the snapshot at the end of its retention. A snapshot
 * already gone (deleted by an operator or the janitor's quota rule) is no error.
 */
import { sleep } from '@temporalio/workflow';
import { z } from '../../shared/zod';
import { neonId } from '../contract/inputs';
import { parseInput } from '../contract/validate';
import { Run } from '../runtime/run';
import { deleteSnapshot } from '../steps/cleanup';

const expireSnapshotInput = () =>
  z.object({ projectId: neonId, snapshotId: neonId, at: z.iso.datetime({ offset: true }) });

export type ExpireSnapshotInput = z.input<ReturnType<typeof expireSnapshotInput>>;

export type ExpireSnapshotResult = { outcome: 'deleted'; projectId: string; snapshotId: string };

export async function expireSnapshot(raw: ExpireSnapshotInput): Promise<ExpireSnapshotResult> {
  const run = new Run('expireSnapshot');
  const { projectId, snapshotId, at } = parseInput(expireSnapshotInput(), raw);
  run.begin(projectId);
  const wait = Date.parse(at) - Date.now();
  if (wait > 0) await run.step('wait_for_expiry', () => sleep(wait));
  await run.step('delete_snapshot', () => deleteSnapshot(projectId, snapshotId));
  run.finish('deleted');
  return { outcome: 'deleted', projectId, snapshotId };
}
