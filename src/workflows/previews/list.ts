/**
 * `preview list`: the project's previews as Neon has them now, and which ones neon-promote made. A short read-only
 * workflow, so the CLI and client talk only to Temporal and the Neon key stays with the worker. It changes nothing, so
 * it is not admitted through the project's coordinator and sends no notification (not in RUN_WORKFLOW_TYPES).
 */
import type { BranchInfo, EndpointWithHost } from '../../activities/contract';
import { previewListing } from '../runtime/activity-options';
import { listPreviewsInput, type ListPreviewsInput } from '../contract/inputs';
import { PREVIEW_PREFIX } from '../contract/names';
import { refuse } from '../contract/failures';
import { parseInput } from '../contract/validate';

export type { ListPreviewsInput };

/** One preview branch as Neon has it now, and whether a createPreview run of neon-promote made it. No secret. */
export type PreviewListing = {
  name: string;
  branchId: string;
  /** The branch it was made from (dev, or the branch dev was before a refresh replaced it). */
  parent: { id: string; name: string | null } | null;
  endpointId: string | null;
  /** DatabaseRef clients connect (null when the preview has no endpoint). */
  host: string | null;
  expiresAt: string | null;
  createdAt: string;
  /** 'neon-promote' when a createPreview run made it (its workflow ID is given), else 'other'. */
  createdBy: 'neon-promote' | 'other';
  workflowId: string | null;
};

/**
 * The child branches of dev, plus any branch a createPreview run made or named like one (`preview-...`) whose parent
 * is no longer dev (a refresh replaces dev under its name; its children keep the old parent), by name. A dev branch
 * that does not exist (a mistyped `--dev`) is refused as createPreview refuses it, not answered with an empty list.
 */
export async function listPreviews(raw: ListPreviewsInput): Promise<PreviewListing[]> {
  const { projectId, devBranchName } = parseInput(listPreviewsInput(), raw);
  const [{ branches, endpoints }, runs] = await Promise.all([
    previewListing.listBranchesAndEndpoints({ projectId }),
    previewListing.findPreviewRuns({ projectId }),
  ]);
  const made = new Map(runs.map((run) => [run.branchId, run.workflowId]));
  const byId = new Map(branches.map((branch) => [branch.id, branch]));
  const dev = branches.find((branch) => branch.name === devBranchName);
  if (!dev) throw refuse(`the dev branch "${devBranchName}" does not exist`, 'BranchMissing');
  const isPreview = (branch: BranchInfo) =>
    branch.parentId === dev.id || made.has(branch.id) || branch.name.startsWith(PREVIEW_PREFIX);
  return branches
    .filter((branch) => branch.id !== dev.id && isPreview(branch))
    .map((branch) => listing(branch, byId, endpoints, made.get(branch.id)))
    .sort((first, second) => (first.name < second.name ? -1 : first.name > second.name ? 1 : 0));
}

function listing(
  branch: BranchInfo,
  byId: Map<string, BranchInfo>,
  endpoints: EndpointWithHost[],
  workflowId: string | undefined,
): PreviewListing {
  const endpoint =
    endpoints.find((endpoint) => endpoint.branchId === branch.id && endpoint.type === 'read_write') ??
    endpoints.find((endpoint) => endpoint.branchId === branch.id);
  return {
    name: branch.name,
    branchId: branch.id,
    parent: branch.parentId ? { id: branch.parentId, name: byId.get(branch.parentId)?.name ?? null } : null,
    endpointId: endpoint?.id ?? null,
    host: endpoint?.host ?? null,
    expiresAt: branch.expiresAt,
    createdAt: branch.createdAt,
    createdBy: workflowId ? 'neon-promote' : 'other',
    workflowId: workflowId ?? null,
  };
}
