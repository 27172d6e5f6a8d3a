import type { PreviewListing } from '../workflows/previews/list';

export type { PreviewListing };

/**
 * `preview list` as text: one line per preview (name, branch ID, parent, endpoint host, expiry, who made it). The
 * listing itself comes from the worker's listPreviews workflow (NeonPromoteClient.listPreviews).
 */
export function previewLines(previews: readonly PreviewListing[]): string[] {
  if (previews.length === 0) return ['no previews'];
  return previews.map((p) =>
    [
      p.name.padEnd(24),
      p.branchId.padEnd(24),
      `parent ${p.parent?.name ?? p.parent?.id ?? '-'}`.padEnd(20),
      (p.host ?? 'no endpoint').padEnd(28),
      `expires ${p.expiresAt ?? 'never'}`.padEnd(34),
      p.createdBy === 'neon-promote' ? `by neon-promote (${p.workflowId})` : 'not by neon-promote',
    ].join(' '),
  );
}
