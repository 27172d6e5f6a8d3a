import { api, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const endpointIds = async (projectId: string, branchId: string): Promise<string[]> =>
  (
    (await api(s.emu, 'GET', `/projects/${projectId}/branches/${branchId}/endpoints`)).endpoints as { id: string }[]
  ).map((e) => e.id);

const DAY_MS = 24 * 3_600_000;

const labels = async (uri: string) =>
  (await sql<{ label: string }>(uri, 'SELECT label FROM items ORDER BY label')).map((r) => r.label);

test("resetPreview: the preview holds dev's head under the same branch ID, endpoint and connection string", async () => {
  const p = await seedProd(s.emu, 3);
  const worker = await s.worker();
  await worker.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const preview = await s.client.createPreview({ projectId: p.projectId, label: 'pr-7' });
    const previewUri = await uriOf(s.emu, p, preview.name);
    const devUri = await uriOf(s.emu, p, 'dev');
    await sql(previewUri, `INSERT INTO items (label, source) VALUES ('scratch', 'preview')`);
    await sql(devUri, `INSERT INTO items (label, source) VALUES ('dev-later', 'dev')`);
    const before = await endpointIds(p.projectId, preview.branchId);
    // Setup restored dev from a snapshot: Neon resets its children from it only once up to 24 hours have passed.
    s.emu.advanceClock(DAY_MS);

    const reset = await s.client.resetPreview({ projectId: p.projectId, name: preview.name });

    expect(reset).toMatchObject({ outcome: 'reset', branchId: { before: preview.branchId, after: preview.branchId } });
    expect(reset.resetAt).not.toBeNull();
    // The connection string taken before the reset still works, and serves dev's head (its write, not the preview's).
    expect(await uriOf(s.emu, p, preview.name)).toBe(previewUri);
    expect(await labels(previewUri)).toEqual(await labels(devUri));
    expect(await labels(previewUri)).toContain('dev-later');
    expect(await labels(previewUri)).not.toContain('scratch');
    expect(await endpointIds(p.projectId, preview.branchId)).toEqual(before);
    expect([reset.endpointId]).toEqual(before);
  });
});

test('resetPreview refuses a branch that is not a child of dev, and a preview that does not exist', async () => {
  const p = await seedProd(s.emu, 1);
  const worker = await s.worker();
  await worker.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    await expect(s.client.resetPreview({ projectId: p.projectId, name: 'prod' })).rejects.toMatchObject({
      cause: { type: 'NotAPreview' },
    });
    await expect(s.client.resetPreview({ projectId: p.projectId, name: 'preview-none' })).rejects.toMatchObject({
      cause: { type: 'BranchMissing' },
    });
  });
});

test("resetPreview within 24 hours of dev's restore from a snapshot: refused with when a reset is possible, nothing changed", async () => {
  const p = await seedProd(s.emu, 2);
  const worker = await s.worker();
  await worker.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const preview = await s.client.createPreview({ projectId: p.projectId, label: 'pr-8' });
    const previewUri = await uriOf(s.emu, p, preview.name);
    await sql(previewUri, `INSERT INTO items (label, source) VALUES ('scratch', 'preview')`);
    const { branches } = (await api(s.emu, 'GET', `/projects/${p.projectId}/branches`)) as {
      branches: { name: string; created_at: string; restored_from?: string }[];
    };
    const dev = branches.find((b) => b.name === 'dev')!;
    expect(dev.restored_from).toBeTruthy();
    const possibleBy = new Date(Date.parse(dev.created_at) + DAY_MS).toISOString();

    const err: unknown = await s.client
      .resetPreview({ projectId: p.projectId, name: preview.name })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ cause: { type: 'ResetUnavailable' } });
    const message = (err as { cause: { message: string } }).cause.message;
    expect(message).toContain(`possible by ${possibleBy} at the latest`);
    expect(message).toContain('delete it and create it again');
    expect(await labels(previewUri)).toContain('scratch');
  });
});
