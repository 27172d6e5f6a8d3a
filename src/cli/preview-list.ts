import { Agent } from 'undici';
import type { NeonPromoteClient } from '../client';
import { InvalidInputError } from '../client-errors';
import { createNeonClient, RateBudget, type NeonBranch, type NeonEndpoint } from '../neon';
import { PREVIEW_PREFIX } from '../workflows/names';

/** One preview branch as Neon has it now, and whether a createPreview run of neon-promote made it. */
export type PreviewListing = {
  name: string;
  branchId: string;
  /** The branch it was made from (dev, or the branch dev was before a refresh replaced it). */
  parent: { id: string; name: string | null } | null;
  endpointId: string | null;
  /** Where clients connect (null when the preview has no endpoint). */
  host: string | null;
  expiresAt: string | null;
  createdAt: string;
  /** 'neon-promote' when a createPreview run made it (its workflow ID is given), else 'other'. */
  createdBy: 'neon-promote' | 'other';
  workflowId: string | null;
};

/**
 * Neon's settings for reading branches from the CLI: the worker's own (NEON_API_KEY, NEON_API_BASE_URL). Read before
 * anything connects, so a missing key is a usage error (exit 2), not a failure halfway.
 */
export function neonSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { apiKey: string; baseUrl?: string } {
  const apiKey = env.NEON_API_KEY;
  if (!apiKey)
    throw new InvalidInputError(
      'preview list reads the branches from Neon: set NEON_API_KEY (and NEON_API_BASE_URL for the emulator; ' +
        'for the local stack: source .data/stack.env)',
      'NEON_API_KEY',
    );
  return { apiKey, ...(env.NEON_API_BASE_URL ? { baseUrl: env.NEON_API_BASE_URL } : {}) };
}

/**
 * The project's previews: the child branches of dev, plus any branch a createPreview run made or named like one
 * (`preview-...`) whose parent is no longer dev (a refresh replaces dev under its name; its children keep the old
 * parent). Branches come from Neon; who made them from the project's createPreview runs in Temporal.
 */
export async function listPreviews(
  client: NeonPromoteClient,
  neonSettings: { apiKey: string; baseUrl?: string },
  projectId: string,
  devBranchName: string,
): Promise<PreviewListing[]> {
  const dispatcher = new Agent({ connect: { timeout: 10_000 } });
  try {
    const neon = createNeonClient({ ...neonSettings, dispatcher, rateBudget: new RateBudget() });
    const call = { context: { activityType: 'previewList' } };
    const [branches, endpoints, made] = await Promise.all([
      neon.listBranches(projectId, call),
      neon.listEndpoints(projectId, call),
      madeByRuns(client, projectId),
    ]);
    const byId = new Map(branches.map((b) => [b.id, b]));
    const dev = branches.find((b) => b.name === devBranchName);
    const isPreview = (b: NeonBranch) =>
      (dev !== undefined && b.parent_id === dev.id) || made.has(b.id) || b.name.startsWith(PREVIEW_PREFIX);
    return branches
      .filter((b) => b.id !== dev?.id && isPreview(b))
      .map((b) => listing(b, byId, endpoints, made.get(b.id)))
      .sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await dispatcher.close();
  }
}

function listing(
  b: NeonBranch,
  byId: Map<string, NeonBranch>,
  endpoints: NeonEndpoint[],
  workflowId: string | undefined,
): PreviewListing {
  const endpoint =
    endpoints.find((e) => e.branch_id === b.id && e.type === 'read_write') ??
    endpoints.find((e) => e.branch_id === b.id);
  return {
    name: b.name,
    branchId: b.id,
    parent: b.parent_id ? { id: b.parent_id, name: byId.get(b.parent_id)?.name ?? null } : null,
    endpointId: endpoint?.id ?? null,
    host: endpoint?.host ?? null,
    expiresAt: b.expires_at,
    createdAt: b.created_at,
    createdBy: workflowId ? 'neon-promote' : 'other',
    workflowId: workflowId ?? null,
  };
}

/** Branch ID -> workflow ID of the project's completed createPreview runs (their results name the branch). */
async function madeByRuns(client: NeonPromoteClient, projectId: string): Promise<Map<string, string>> {
  const runs = await client.listRuns(projectId, { type: 'createPreview', limit: 1000 });
  const made = new Map<string, string>();
  await Promise.all(
    runs
      .filter((r) => r.status === 'COMPLETED')
      .map(async (r) => {
        const result = await client.result<{ branchId?: string }>(r.workflowId).catch(() => undefined); // a run whose history was deleted by retention: nothing to learn from it
        if (result?.branchId) made.set(result.branchId, r.workflowId);
      }),
  );
  return made;
}
