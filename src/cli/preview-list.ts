import type { PreviewListing } from '../workflows/previews/list';

export type { PreviewListing };

const COLUMNS = ['NAME', 'BRANCH', 'PARENT', 'HOST', 'EXPIRES', 'MADE BY'] as const;

/** An ISO time to the minute, in UTC: "2026-12-12 16:41Z". */
const minute = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : 'never');

/**
 * `preview list` as text: a header, then one row per preview (name, branch ID, parent, endpoint host, expiry, whether
 * neon-promote made it), in columns as wide as their longest cell. The run that made each one is in --json. The
 * listing itself comes from the worker's listPreviews workflow (NeonPromoteClient.listPreviews).
 */
export function previewLines(previews: readonly PreviewListing[]): string[] {
  if (previews.length === 0) return ['no previews'];
  const rows = previews.map((preview) => [
    preview.name,
    preview.branchId,
    preview.parent?.name ?? preview.parent?.id ?? '-',
    preview.host ?? 'no endpoint',
    minute(preview.expiresAt),
    preview.createdBy === 'neon-promote' ? 'neon-promote' : 'not neon-promote',
  ]);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)];
}
