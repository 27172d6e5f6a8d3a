import type { PreviewListing } from '../workflows/previews/list';

export type { PreviewListing };

/**
 * `preview list` as text: one line per preview (name, branch ID, parent, endpoint host, expiry, who made it). The
 * listing itself comes from the worker's listPreviews workflow (NeonPromoteClient.listPreviews).
 */
export function previewLines(previews: readonly PreviewListing[]): string[] {
  if (previews.length === 0) return ['no previews'];
  return previews.map((preview) =>
    [
      preview.name.padEnd(24),
      preview.branchId.padEnd(24),
      `parent ${preview.parent?.name ?? preview.parent?.id ?? '-'}`.padEnd(20),
      (preview.host ?? 'no endpoint').padEnd(28),
      `expires ${preview.expiresAt ?? 'never'}`.padEnd(34),
      preview.createdBy === 'neon-promote' ? `by neon-promote (${preview.workflowId})` : 'not by neon-promote',
    ].join(' '),
  );
}
