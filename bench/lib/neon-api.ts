/** The benchmark's own Neon calls (seeding, lookups), made straight to the emulator so they never count as a run's. */
import type { Neon } from './stack';

export async function api<T = Record<string, unknown>>(
  neon: Neon,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${neon.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${neon.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // 423: an earlier mutation's operations still run (the emulator's sweeper can hold the lock too).
    if (res.status === 423 && attempt < 200) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }
}

export async function settle(
  neon: Neon,
  projectId: string,
  r: { operations?: { id: string }[] },
  pollMs = 100,
): Promise<void> {
  for (const op of r.operations ?? []) {
    for (;;) {
      const { operation } = await api<{ operation: { status: string } }>(
        neon,
        'GET',
        `/projects/${projectId}/operations/${op.id}`,
      );
      if (['finished', 'skipped', 'cancelled'].includes(operation.status)) break;
      if (['failed', 'error'].includes(operation.status)) throw new Error(`operation ${op.id} ${operation.status}`);
      await new Promise((res) => setTimeout(res, pollMs));
    }
  }
}

type Branch = { id: string; name: string };

export async function branchByName(neon: Neon, projectId: string, name: string): Promise<Branch> {
  const { branches } = await api<{ branches: Branch[] }>(neon, 'GET', `/projects/${projectId}/branches`);
  const b = branches.find((x) => x.name === name);
  if (!b) throw new Error(`project ${projectId} has no branch ${name}`);
  return b;
}

/** Prod's connection string (through its read-write endpoint, which survives every swap). Holds a password. */
export async function connectionString(neon: Neon, projectId: string, branchId: string): Promise<string> {
  const q = new URLSearchParams({ branch_id: branchId, database_name: 'neondb', role_name: 'neondb_owner' });
  return (await api<{ uri: string }>(neon, 'GET', `/projects/${projectId}/connection_uri?${q.toString()}`)).uri;
}
