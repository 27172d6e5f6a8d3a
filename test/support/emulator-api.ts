import { waitForOperations, type Emulator, type SeededProject } from '../../tools/emulator';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type EmulatorAddress = Pick<Emulator, 'baseUrl' | 'apiKey'>;

async function send(emu: EmulatorAddress, method: string, path: string, body?: unknown, headers = {}) {
  const res = await fetch(`${emu.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { res, text: await res.text() };
}

/** A raw call to the emulator's Neon API: status and parsed body, never throwing on an HTTP error. */
export function rawApi(emu: EmulatorAddress) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; headers: Headers }> => {
    const { res, text } = await send(emu, method, path, body, headers);
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  };
}

/**
 * A call that must succeed, returned once the operations it started have finished (until then they hold the project:
 * the next mutation would get a 423).
 */
export async function settled(emu: Emulator, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await rawApi(emu)(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  const projectId = path.split('/')[2]!;
  if (res.body.operations) await waitForOperations(emu, projectId, res.body.operations as { id: string }[]);
  return res.body;
}

/** A call to the emulator's Neon API that must succeed: its parsed body, or an error naming the call and status. */
export async function api(emu: EmulatorAddress, method: string, path: string, body?: unknown): Promise<Json> {
  const { res, text } = await send(emu, method, path, body);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Json;
}

export type Inventory = {
  branches: { id: string; name: string; parent_id?: string }[];
  snapshots: { id: string; name: string }[];
};

/** What a project holds at Neon now: its branches and snapshots. */
export async function inventory(emu: EmulatorAddress, projectId: string): Promise<Inventory> {
  const [branches, snapshots] = await Promise.all([
    api(emu, 'GET', `/projects/${projectId}/branches`),
    api(emu, 'GET', `/projects/${projectId}/snapshots`),
  ]);
  return {
    branches: branches.branches as Inventory['branches'],
    snapshots: snapshots.snapshots as Inventory['snapshots'],
  };
}

export async function branchId(emu: EmulatorAddress, projectId: string, name: string): Promise<string | undefined> {
  return (await inventory(emu, projectId)).branches.find((branch) => branch.name === name)?.id;
}

/** The connection string of a branch's read-write endpoint, by branch name (holds a password: tests only). */
export async function uriOf(emu: EmulatorAddress, project: SeededProject, branch: string): Promise<string> {
  const id = await branchId(emu, project.projectId, branch);
  const query = new URLSearchParams({
    branch_id: id ?? '',
    database_name: project.databaseName,
    role_name: project.roleName,
  });
  return (await api(emu, 'GET', `/projects/${project.projectId}/connection_uri?${query.toString()}`)).uri as string;
}

/** The mutating calls in the emulator's request log, as `METHOD /path`, oldest first. */
export function mutatingCalls(emu: Pick<Emulator, 'requestLog'>): string[] {
  return emu
    .requestLog()
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path}`);
}
