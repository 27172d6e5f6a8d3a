/**
 * Neon's per-project limits by plan, as its docs give them (README, "Limits and their sources"): root branches from
 * "Manage branches" (Branch types, Root branch), manual snapshots from "Neon plans" (Snapshots) and "Backup & restore".
 * The manual-snapshot figure follows the current pages (100 on paid plans); the earlier pages' 10 is set with
 * `snapshotQuota`.
 */
export const PLANS = {
  free: { rootBranchLimit: 3, snapshotQuota: 1 },
  launch: { rootBranchLimit: 5, snapshotQuota: 100 },
  scale: { rootBranchLimit: 25, snapshotQuota: 100 },
} as const;

export type Plan = keyof typeof PLANS;
export type Limits = { plan: Plan; snapshotQuota: number; rootBranchLimit: number };

/** The default plan: the one a project promoting several times a day is on (see the README). */
export const DEFAULT_PLAN: Plan = 'scale';

export function isPlan(name: string): name is Plan {
  return Object.hasOwn(PLANS, name);
}

/** A plan's limits, each overridden where given. */
export function limitsOf(plan: Plan = DEFAULT_PLAN, over: { snapshotQuota?: number; rootBranchLimit?: number } = {}) {
  return {
    plan,
    snapshotQuota: over.snapshotQuota ?? PLANS[plan].snapshotQuota,
    rootBranchLimit: over.rootBranchLimit ?? PLANS[plan].rootBranchLimit,
  } satisfies Limits;
}

/** A change of the limits: a new plan resets both figures to its own, then the given ones apply. */
export function changeLimits(
  current: Limits,
  change: { plan?: Plan; snapshotQuota?: number; rootBranchLimit?: number },
): Limits {
  const base = change.plan ? limitsOf(change.plan) : current;
  return {
    plan: base.plan,
    snapshotQuota: change.snapshotQuota ?? base.snapshotQuota,
    rootBranchLimit: change.rootBranchLimit ?? base.rootBranchLimit,
  };
}
