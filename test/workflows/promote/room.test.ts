/**
 * roomFor, the plan's fit to the limits, on its own: which snapshots a promotion may free (expired ones of ours, then
 * the oldest rollback points; never the newest, the fork point or another's) and when it refuses, in one line.
 */
import type { BranchInfo, ResolveEnvironmentResult, SnapshotInfo } from '../../../src/activities/contract';
import { promoteInput } from '../../../src/workflows/contract/inputs';
import { roomFor } from '../../../src/workflows/promote/room';

const options = promoteInput().parse({ projectId: 'p-1' });
const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`;

function snapshot(name: string, minute: number, extra: Partial<SnapshotInfo> = {}): SnapshotInfo {
  const fields = { sourceBranchId: 'br-prod', expiresAt: null, lsn: null, timestamp: null, manual: true };
  return { id: `s-${name}`, name, createdAt: at(minute), ...fields, ...extra };
}

function root(name: string, extra: Partial<BranchInfo> = {}): BranchInfo {
  const fields = { parentId: null, default: false, protected: false, currentState: 'ready', createdAt: at(0) };
  return {
    id: `br-${name}`,
    name,
    expiresAt: null,
    restoredFrom: null,
    restoredAs: null,
    restoreStatus: null,
    ...fields,
    ...extra,
  };
}

function env(
  snapshots: SnapshotInfo[],
  limits: { snapshots: number | null; roots: number | null },
  branches = [root('prod'), root('dev')],
): ResolveEnvironmentResult {
  const manual = snapshots.filter((listed) => listed.manual).length;
  return {
    projectId: 'p-1',
    observedAt: at(30),
    prod: null,
    dev: null,
    branches,
    snapshots,
    snapshotLimit: limits.snapshots,
    freeSnapshotSlots: limits.snapshots === null ? null : Math.max(0, limits.snapshots - manual),
    rootBranchLimit: limits.roots,
  };
}

const fork = snapshot('np-fork-a', 5);
const rollbacks = [1, 2, 3].map((minute) => snapshot(`np-rollback-${minute}`, minute));

test('the oldest rollback points go, as many as the run needs; the newest, the fork point and a scheduled one stay', () => {
  const scheduled = snapshot('main daily', 4, { manual: false });
  const room = roomFor(options, env([...rollbacks, fork, scheduled], { snapshots: 5, roots: null }));
  expect(room.refusal).toBeNull();
  expect(room.deletions.map(({ snapshot: s, why }) => `${s.name} ${why}`)).toEqual(['np-rollback-1 rotated']);
});

test('expired snapshots of ours go first, all of them; then rollback points only if still short', () => {
  const expired = snapshot('np-candidate-x', 0, { expiresAt: at(10) });
  const room = roomFor(options, env([expired, ...rollbacks, fork], { snapshots: 6, roots: null }));
  expect(room.deletions.map(({ snapshot: s, why }) => `${s.name} ${why}`)).toEqual(['np-candidate-x expired']);
  const tighter = roomFor(options, env([expired, ...rollbacks, fork], { snapshots: 5, roots: null }));
  expect(tighter.deletions.map(({ snapshot: s, why }) => `${s.name} ${why}`)).toEqual([
    'np-candidate-x expired',
    'np-rollback-1 rotated',
  ]);
});

test('with only the newest rollback point and the fork point in three slots: refused, nothing deleted', () => {
  const room = roomFor(options, env([rollbacks[2]!, fork], { snapshots: 3, roots: null }));
  expect(room.deletions).toEqual([]);
  expect(room.refusal?.type).toBe('SnapshotQuota');
  expect(room.refusal?.message).toMatch(
    /needs 2 free snapshot slots; project p-1 has 1 of 3 .* only 0 snapshot\(s\) of ours/,
  );
});

test('snapshots not ours are never counted as room', () => {
  const others = [snapshot('manual-1', 1), snapshot('manual-2', 2)];
  expect(roomFor(options, env([...others, fork], { snapshots: 4, roots: null })).refusal?.type).toBe('SnapshotQuota');
});

test('root branches: two beside those there are, or refused naming the limit and when our backups free theirs', () => {
  const backup = root('np-old-promote-1', { expiresAt: at(59) });
  expect(
    roomFor(options, env([], { snapshots: null, roots: 5 }, [root('prod'), root('dev'), backup])).refusal,
  ).toBeNull();
  const full = roomFor(options, env([], { snapshots: null, roots: 4 }, [root('prod'), root('dev'), backup]));
  expect(full.refusal).toEqual({
    type: 'RootBranchLimit',
    message: expect.stringMatching(
      /has 3 of 4 \(the plan's limit of root branches\); our backups hold 1, the first until 2026-01-01T00:59:00Z$/,
    ) as unknown,
  });
});
