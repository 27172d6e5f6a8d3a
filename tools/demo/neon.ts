/**
 * What the demo reads from the Neon API (the emulator's, or any Neon-compatible one) in its own process: branch IDs and
 * connection strings, to look at the data the way an application would. Connection strings hold a password: they are
 * used here and never printed.
 */
import { Client } from 'pg';
import { waitForOperations } from '../emulator';

export type NeonApi = { baseUrl: string; apiKey: string };

type Json = Record<string, unknown>;

export async function call<T = Json>(api: NeonApi, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // The body of an error may echo a connection string; the status and route are enough to act on.
  if (!res.ok) throw new Error(`${method} ${path.split('?')[0]}: HTTP ${res.status}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export type Branch = { id: string; name: string };

export async function branches(api: NeonApi, projectId: string): Promise<Branch[]> {
  return (await call<{ branches: Branch[] }>(api, 'GET', `/projects/${projectId}/branches`)).branches;
}

export async function branchByName(api: NeonApi, projectId: string, name: string): Promise<Branch> {
  const found = (await branches(api, projectId)).find((b) => b.name === name);
  if (!found) throw new Error(`project ${projectId} has no branch "${name}"`);
  return found;
}

export async function readWriteEndpoint(api: NeonApi, projectId: string, branchName: string): Promise<string> {
  const b = await branchByName(api, projectId, branchName);
  const { endpoints } = await call<{ endpoints: { id: string; type: string }[] }>(
    api,
    'GET',
    `/projects/${projectId}/branches/${b.id}/endpoints`,
  );
  return endpoints.find((e) => e.type === 'read_write')?.id ?? '(none)';
}

/** The connection string of a branch's read-write endpoint, as an application would be configured with. */
export async function connectionUri(api: NeonApi, projectId: string, branchName: string): Promise<string> {
  const b = await branchByName(api, projectId, branchName);
  const q = new URLSearchParams({ branch_id: b.id, database_name: 'neondb', role_name: 'neondb_owner' });
  return (await call<{ uri: string }>(api, 'GET', `/projects/${projectId}/connection_uri?${q.toString()}`)).uri;
}

export async function query<T = Json>(uri: string, text: string, values?: unknown[]): Promise<T[]> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Creates a project whose default branch is "prod", as a platform would for a new tenant. */
export async function createProject(api: NeonApi, name: string): Promise<{ projectId: string; prodUri: string }> {
  const created = await call<{
    project: { id: string };
    connection_uris: { connection_uri: string }[];
    operations: { id: string }[];
  }>(api, 'POST', '/projects', { project: { name, branch: { name: 'prod' } } });
  await waitForOperations(api, created.project.id, created.operations);
  return { projectId: created.project.id, prodUri: created.connection_uris[0]!.connection_uri };
}
