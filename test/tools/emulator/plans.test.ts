/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   JSON bodies under test are checked by assertions here, not by types. */
/**
 * The plans' limits over HTTP (sources in tools/emulator/README.md, "Limits and their sources"): root branches per
 * project (Free 3, Launch 5, Scale 25) and manual snapshots per project (Free 1, paid 100), scheduled snapshots not
 * counted; the preset chosen at start (`plan`), through the admin API, and the earlier docs' 10 by override.
 */
import { PLANS, startEmulator, waitForOperations, type Emulator, type Plan } from '../../../tools/emulator';
import { type Json, rawApi, settled } from '../../support/emulator-api';

let emu: Emulator;
let api: ReturnType<typeof rawApi>;

beforeAll(async () => {
  emu = await startEmulator({ mode: 'memory', operationDelayMs: 1 });
  api = rawApi(emu);
});
afterAll(async () => emu?.stop());

/** A call that must succeed, once its operations finished. */
const ok = (method: string, path: string, body?: unknown): Promise<Json> => settled(emu, method, path, body);

async function project(): Promise<{ projectId: string; mainId: string }> {
  const created = await api('POST', '/projects', { project: { name: 'plans' } });
  const projectId = created.body.project.id as string;
  await waitForOperations(emu, projectId, created.body.operations as { id: string }[]);
  return { projectId, mainId: created.body.branch.id as string };
}

async function setPlan(plan: Plan, over: Record<string, number> = {}): Promise<Json> {
  const res = await fetch(`${emu.adminUrl}/limits`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ plan, ...over }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

test('the default plan is scale: 25 root branches, 100 manual snapshots', () => {
  expect(emu.limits()).toEqual({ plan: 'scale', rootBranchLimit: 25, snapshotQuota: 100 });
});

test.each(['free', 'launch', 'scale'] as const)(
  'on %s a snapshot restore past the root-branch limit is refused; the project stays within it',
  async (plan) => {
    await setPlan(plan);
    const { projectId, mainId } = await project();
    const snap = await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=s`);
    // The project's own root branch is one of them; each restore makes another.
    for (let i = 1; i < PLANS[plan].rootBranchLimit; i++)
      await ok('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, { name: `r${i}` });
    const refused = await api('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, { name: 'x' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'BRANCHES_LIMIT_EXCEEDED' });
    const { branches } = await ok('GET', `/projects/${projectId}/branches`);
    expect(branches).toHaveLength(PLANS[plan].rootBranchLimit);
  },
);

test.each(['free', 'launch'] as const)(
  'on %s manual snapshots past the limit are refused; scheduled ones do not count and are listed as not manual',
  async (plan) => {
    await setPlan(plan);
    const { projectId, mainId } = await project();
    const scheduled = await fetch(`${emu.adminUrl}/projects/${projectId}/branches/${mainId}/scheduled_snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(scheduled.status).toBe(200);
    await waitForOperations(emu, projectId, ((await scheduled.json()) as Json).operations as { id: string }[]);
    for (let i = 0; i < PLANS[plan].snapshotQuota; i++)
      await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=m${i}`);
    const refused = await api('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=over`);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'SNAPSHOTS_LIMIT_EXCEEDED' });
    const snapshots = (await ok('GET', `/projects/${projectId}/snapshots`)).snapshots as { manual: boolean }[];
    expect(snapshots.filter((s) => !s.manual)).toHaveLength(1);
    expect(snapshots.filter((s) => s.manual)).toHaveLength(PLANS[plan].snapshotQuota);
  },
);

test("the earlier docs' paid limit of 10 manual snapshots is an override of the plan's", async () => {
  expect(await setPlan('launch', { snapshotQuota: 10 })).toEqual({
    plan: 'launch',
    rootBranchLimit: 5,
    snapshotQuota: 10,
  });
  const { projectId, mainId } = await project();
  for (let i = 0; i < 10; i++) await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=m${i}`);
  expect((await api('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=over`)).status).toBe(422);
  // A new plan brings its own figures back.
  expect(await setPlan('scale')).toEqual({ plan: 'scale', rootBranchLimit: 25, snapshotQuota: 100 });
});

test('a plan given at start sets the limits; an unknown plan is refused by the admin API', async () => {
  const free = await startEmulator({ mode: 'memory', plan: 'free' });
  try {
    expect(free.limits()).toEqual({ plan: 'free', rootBranchLimit: 3, snapshotQuota: 1 });
    const res = await fetch(`${free.adminUrl}/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${free.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'enterprise' }),
    });
    expect(res.status).toBe(400);
    expect(free.limits().plan).toBe('free');
  } finally {
    await free.stop();
  }
});
