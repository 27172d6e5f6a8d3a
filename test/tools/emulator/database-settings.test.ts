/**
 * A database's own settings (ALTER DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET) travel with its data, as in
 * Neon, whose branches, snapshots and restores copy the cluster's storage: onto a snapshot's restored branch and onto a
 * child branch.
 */
import { seedProject, startEmulator, waitForOperations, type Emulator } from '../../../tools/emulator';
import { api, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ operationDelayMs: 5 });
});
afterAll(async () => emu?.stop());

/** The database's own settings and the owner's in it, as a session on `uri` starts with them. */
const settings = async (uri: string) =>
  (
    await sql<{ work_mem: string; search_path: string; statement_timeout: string }>(
      uri,
      `SELECT current_setting('work_mem') AS work_mem, current_setting('search_path') AS search_path,
              current_setting('statement_timeout') AS statement_timeout`,
    )
  )[0];

test("a database's settings are on a branch restored from its snapshot, and on a child branch", async () => {
  const p = await seedProject(emu, { name: 'settings', rows: 1 });
  // The emulator's physical database name differs from the one Neon shows: name it through current_database().
  await sql(
    p.connectionUri,
    `DO $$ BEGIN
       EXECUTE format('ALTER DATABASE %I SET work_mem = %L', current_database(), '7MB');
       EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extra', current_database());
       EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET statement_timeout = %L', current_database(), '42s');
     END $$`,
  );
  const expected = { work_mem: '7MB', search_path: '"$user", public, extra', statement_timeout: '42s' };
  expect(await settings(p.connectionUri)).toEqual(expected);

  const path = `/projects/${p.projectId}`;
  const snap = await api(emu, 'POST', `${path}/branches/${p.branchId}/snapshot?name=with-settings`);
  await waitForOperations(emu, p.projectId, snap.operations as { id: string }[]);
  const restored = await api(emu, 'POST', `${path}/snapshots/${(snap.snapshot as { id: string }).id}/restore`, {
    name: 'r',
  });
  await waitForOperations(emu, p.projectId, restored.operations as { id: string }[]);
  const endpoint = await api(emu, 'POST', `${path}/endpoints`, {
    endpoint: { branch_id: (restored.branch as { id: string }).id, type: 'read_write' },
  });
  await waitForOperations(emu, p.projectId, endpoint.operations as { id: string }[]);
  expect(await settings(await uriOf(emu, p, 'r'))).toEqual(expected);

  const child = await api(emu, 'POST', `${path}/branches`, {
    branch: { name: 'c', parent_id: p.branchId },
    endpoints: [{ type: 'read_write' }],
  });
  await waitForOperations(emu, p.projectId, child.operations as { id: string }[]);
  expect(await settings(await uriOf(emu, p, 'c'))).toEqual(expected);
});
