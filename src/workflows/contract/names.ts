/**
 * Names of everything a workflow creates at Neon. They derive from the workflow ID and the step, so a retried or
 * replayed step finds what its earlier attempt made, and the `np-` prefix marks what this product owns (the janitor
 * touches nothing else).
 */
export const OWNED_PREFIX = 'np-';
/** Default prefix of preview branches (the caller may name a preview otherwise). */
export const PREVIEW_PREFIX = 'preview-';

/** Kept well under Neon's 256-character branch names, so the UI and CLI show them whole. */
const MAX_NAME = 100;

export type ResourceKind =
  | 'baseline' // setup: prod snapshot that seeds dev
  | 'rollback' // promote: prod before the swap (kept for rollbacks)
  | 'candidate' // promote: dev snapshot and the branch restored from it
  | 'old' // the replaced branch after a swap (backup)
  | 'failed' // promote: the candidate that failed verification after the swap, replaced by the rollback
  | 'undo' // promote: the branch restored from the rollback snapshot
  | 'rollback-state' // promote (reconcile, migrations rollback): the rollback snapshot unfinalized, the diff's base
  | 'refresh' // refreshDev: prod snapshot restored onto dev
  | 'fork' // the fork point: the state of prod dev was forked from (setup, refresh and promote adopt their snapshot)
  | 'base' // promote: the fork point restored without finalize, the base of the count and carry of prod's writes
  | 'restore'; // refreshDev / rollback: the branch restored before it is swapped in

/** FNV-1a, 32 bits: a short deterministic suffix that keeps truncated names unique. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** Lower-case [a-z0-9-], no leading/trailing or doubled dashes. */
export function sanitize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * e.g. `np-rollback-promote-p-1-abc`. An ID that sanitize() changes (case, punctuation, other scripts) or that is cut
 * to fit gets a hash of the full ID: IDs that differ only there would otherwise share their snapshots' names.
 */
export function resourceName(kind: ResourceKind, workflowId: string): string {
  const name = `${OWNED_PREFIX}${kind}-${sanitize(workflowId)}`;
  if (name.length <= MAX_NAME && sanitize(workflowId) === workflowId) return name;
  const hash = shortHash(workflowId);
  return `${name.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** Every kind, so that `namesOf` cannot miss one a new kind adds. */
const KINDS: Record<ResourceKind, true> = {
  baseline: true,
  rollback: true,
  candidate: true,
  old: true,
  failed: true,
  undo: true,
  'rollback-state': true,
  refresh: true,
  fork: true,
  base: true,
  restore: true,
};

/** Every name a workflow with this ID may give what it creates at Neon. */
export function namesOf(workflowId: string): Set<string> {
  return new Set(Object.keys(KINDS).map((kind) => resourceName(kind as ResourceKind, workflowId)));
}

export function isOwned(name: string, kind?: ResourceKind): boolean {
  return name.startsWith(kind ? `${OWNED_PREFIX}${kind}-` : OWNED_PREFIX);
}

/** ISO timestamp `ms` after `now` without milliseconds (Neon's RFC 3339 examples carry none). */
export function isoAfter(now: number, ms: number): string {
  return new Date(now + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
