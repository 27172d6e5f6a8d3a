import type { CallOptions } from '../../../neon';
import type { BranchDatabase } from '../../contract';
import { withBranch, type BranchSession, type SessionDeps } from './session';

/**
 * `withBranch` for several branches at once: a session on each (in the order given; none where the target is null),
 * all open while `fn` runs, each closed and its failures mapped as withBranch does.
 */
export function withBranches<T>(
  deps: SessionDeps,
  call: CallOptions,
  targets: (BranchDatabase | null)[],
  options: Parameters<typeof withBranch>[4],
  fn: (sessions: (BranchSession | null)[]) => Promise<T>,
): Promise<T> {
  const open = (opened: (BranchSession | null)[]): Promise<T> => {
    if (opened.length === targets.length) return fn(opened);
    const target = targets[opened.length];
    if (!target) return open([...opened, null]);
    return withBranch(deps, target, call, (session) => open([...opened, session]), options);
  };
  return open([]);
}
