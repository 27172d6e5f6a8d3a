/**
 * The benchmark's overhead split (bench/lib/runs.ts): how long a mutation's operations sat done before a poll saw
 * it. The split is only as true as this matching, so it is checked on hand-made tap records.
 */
import { pollSlack } from '../../bench/lib/runs';
import type { TapRecord } from '../../bench/lib/tap';

const OP_DELAY = 100;

function mutation(start: number, end: number, operationIds: string[]): TapRecord {
  const path = '/api/v2/projects/p/branches/b/snapshot';
  return { method: 'POST', route: `POST ${path}`, path, start, end, status: 200, operationIds };
}

function poll(id: string, start: number, operationStatus: string): TapRecord {
  const path = `/api/v2/projects/p/operations/${id}`;
  const route = 'GET /api/v2/projects/{project_id}/operations/{id}';
  return { method: 'GET', route, path, start, end: start + 2, status: 200, operationIds: [], operationStatus };
}

test('slack runs from the operations being due until the poll that saw the last of them done', () => {
  const records = [
    mutation(0, 10, ['op-a', 'op-b']),
    poll('op-a', 60, 'running'), // before the due time: not slack
    poll('op-a', 130, 'finished'),
    poll('op-b', 131, 'running'),
    poll('op-b', 150, 'finished'),
  ];
  expect(pollSlack(records, OP_DELAY)).toEqual([[110, 150]]);
});

test('skipped operations count as done and cancelled ones as failed, as the worker counts them', () => {
  const records = [mutation(0, 10, ['op-a', 'op-b']), poll('op-a', 120, 'skipped'), poll('op-b', 125, 'finished')];
  expect(pollSlack(records, OP_DELAY)).toEqual([[110, 125]]);
  const cancelled = [mutation(0, 10, ['op-a']), poll('op-a', 120, 'cancelled')];
  expect(pollSlack(cancelled, OP_DELAY)).toEqual([]);
});

test("a poll of another mutation's operation, or one never seen done, gives no slack", () => {
  const records = [
    mutation(0, 10, ['op-a']),
    mutation(200, 210, ['op-c']),
    poll('op-c', 330, 'finished'),
    poll('op-a', 400, 'running'),
  ];
  expect(pollSlack(records, OP_DELAY)).toEqual([[310, 330]]);
});

test('a poll sent before the operations were due that already saw them done gives none', () => {
  const records = [mutation(0, 10, ['op-a']), poll('op-a', 105, 'finished')];
  expect(pollSlack(records, OP_DELAY)).toEqual([[110, 110]]);
});
