/**
 * Which branch an earlier attempt of a restore made. Setup restores its baseline snapshot as dev, and a promotion
 * later restores the same snapshot (the fork point) next to prod under a name of its own: the second must not take dev
 * for its own branch (its clean-up would delete it).
 */
import type { NeonBranch } from '../../../src/neon';
import { findRestored } from '../../../src/activities/neon/restore';

const branch = (fields: Partial<NeonBranch>): NeonBranch => ({ id: 'br-x', name: 'x', ...fields }) as NeonBranch;
const dev = branch({
  id: 'br-dev',
  name: 'dev',
  restored_from: 'snap-fork',
  restored_as: 'br-prod',
  restore_status: 'restored',
});

test('an unfinalized restore is found by the name it was given, not by another restore of the snapshot', () => {
  expect(findRestored([dev], 'snap-fork', 'br-prod', 'np-base-promote-1', false)).toBeUndefined();
  const base = branch({ id: 'br-base', name: 'np-base-promote-1', restored_from: 'snap-fork', restored_as: 'br-prod' });
  expect(findRestored([dev, base], 'snap-fork', 'br-prod', 'np-base-promote-1', false)?.id).toBe('br-base');
  expect(findRestored([dev, base], 'snap-fork', 'br-prod', 'dev', false)?.id).toBe('br-dev');
});

test('a finalized restore carries its target name now, and is found by lineage', () => {
  const swapped = branch({
    id: 'br-new',
    name: 'prod',
    restored_from: 'snap-1',
    restored_as: 'br-prod',
    restore_status: 'finalized',
  });
  expect(findRestored([swapped], 'snap-1', 'br-prod', 'np-restore-refresh-1', true)?.id).toBe('br-new');
  // Asked again unfinalized (a retry after the finalize), by the name it had before.
  expect(findRestored([swapped], 'snap-1', 'br-prod', 'np-candidate-promote-1', false)?.id).toBe('br-new');
});
