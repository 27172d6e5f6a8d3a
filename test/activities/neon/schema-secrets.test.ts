/**
 * The schema diff leaves compareSchema without the credentials the schema holds: it is kept in workflow history,
 * printed by the CLI and quoted in refusals. Through the emulator (real Postgres) for what its dump carries: function
 * bodies, views and defaults. User mappings, servers and subscriptions are in Neon's pg_dump-based diff but not in the
 * emulator's (and the emulator's roles may not create them, as Neon's neon_superuser may), so they are given to the
 * activity as pg_dump writes them.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { seedProject } from '../../../tools/emulator';
import type { ActivityDeps } from '../../../src/activities';
import { schemaActivities } from '../../../src/activities/neon/schema';
import { uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
}, 120_000);
afterAll(() => h?.stop());

const SECRETS = ['fn-s3cret-pw', 'view-s3cret-pw', 'default s3cret'];

test('credentials in functions, views and defaults on dev are blanked in the diff; the objects still show', async () => {
  const project = await seedProject(h.emu, { rows: 1, branchName: 'prod' });
  const created = await h.api('POST', `/projects/${project.projectId}/branches`, {
    branch: { name: 'dev', parent_id: project.branchId },
    endpoints: [{ type: 'read_write' }],
  });
  await h.run(h.activities.waitForOperations, {
    projectId: project.projectId,
    operationIds: (created.operations as { id: string }[]).map((op) => op.id),
  });
  const dev = await uriOf(h.emu, project, 'dev');
  await sql(
    dev,
    `CREATE FUNCTION public.sync_remote() RETURNS void LANGUAGE plpgsql AS $$
     BEGIN PERFORM dblink_connect('remote', 'host=db.internal user=sync password=fn-s3cret-pw dbname=app'); END $$`,
  );
  await sql(
    dev,
    `CREATE VIEW public.remote_url AS SELECT 'postgresql://report:view-s3cret-pw@db.internal/app'::text AS url`,
  );
  await sql(dev, `CREATE TABLE public.links (dsn text DEFAULT 'host=db password=''default s3cret'' dbname=app')`);

  const result = await h.run(h.activities.compareSchema, {
    projectId: project.projectId,
    branchId: (created.branch as { id: string }).id,
    baseBranchId: project.branchId,
    databaseName: project.databaseName,
  });
  for (const secret of SECRETS) expect(result.diff).not.toContain(secret);
  expect(result.diff).toContain('sync_remote');
  expect(result.diff).toContain('postgresql://report:[REDACTED]@db.internal/app');
  expect(result.diff).toContain('password=[REDACTED]');
  expect(result.diff).toContain('CREATE TABLE public.links');
}, 120_000);

/** A schema diff as Neon's pg_dump-based compare returns it: user mappings, a server and subscriptions added on dev. */
const PG_DUMP_DIFF = `--- a/neondb
+++ b/neondb
@@ -10,3 +10,24 @@
+CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
+    dbname 'app',
+    host 'db.internal',
+    password 'server-s3cret'
+);
+CREATE USER MAPPING FOR app SERVER remote OPTIONS (
+    password 'mapping-s3cret',
+    "user" 'app'
+);
+CREATE USER MAPPING FOR reporting SERVER s3 OPTIONS (
+    key_id 'AKIAEXAMPLE',
+    secret 'aws-s3cret'
+);
+ALTER USER MAPPING FOR app SERVER remote OPTIONS (SET password 'altered-s3cret');
+CREATE SUBSCRIPTION orders CONNECTION 'host=db.internal port=5432 user=rep password=sub-s3cret dbname=app' PUBLICATION orders WITH (connect = false, slot_name = 'orders');
+CREATE SUBSCRIPTION quoted CONNECTION 'host=db.internal password=''quoted sub-s3cret'' dbname=app' PUBLICATION orders WITH (connect = false, slot_name = 'quoted');
+CREATE SUBSCRIPTION by_uri CONNECTION 'postgresql://rep:uri-s3cret@db.internal:5432/app?sslmode=require' PUBLICATION orders WITH (connect = false, slot_name = 'by_uri');
+ALTER SUBSCRIPTION orders CONNECTION 'host=db.internal user=rep sslpassword=key-s3cret password=new-s3cret';
 CREATE TABLE public.users (
     id bigint NOT NULL,
     password_hash text NOT NULL
 );
`;

test('user mappings, servers and subscriptions in a pg_dump-style diff leave the activity without their credentials', async () => {
  const neon = { compareSchema: async () => PG_DUMP_DIFF } as unknown as ActivityDeps['neon'];
  const { compareSchema } = schemaActivities({ neon });
  const input = { projectId: 'p-1', branchId: 'br-dev', baseBranchId: 'br-prod', databaseName: 'neondb' };
  const result: Awaited<ReturnType<typeof compareSchema>> = await new MockActivityEnvironment().run(
    compareSchema,
    input,
  );
  expect(result.diff.match(/s3cret|AKIAEXAMPLE/g)).toBeNull();
  // What changed is still readable: the statements, and every option that is not the mapping's credentials.
  expect(result.diff).toContain(`+CREATE USER MAPPING FOR app SERVER remote OPTIONS (\n+    password '[REDACTED]',`);
  expect(result.diff).toContain(`+    dbname 'app',\n+    host 'db.internal',`);
  expect(result.diff).toContain(
    `+CREATE SUBSCRIPTION orders CONNECTION 'host=db.internal port=5432 user=rep password=[REDACTED] dbname=app' PUBLICATION orders`,
  );
  expect(result.diff).toContain(`'postgresql://rep:[REDACTED]@db.internal:5432/app?sslmode=require'`);
  expect(result.diff).toContain('     password_hash text NOT NULL');
  expect(result).toMatchObject({ identical: false, truncated: false });
});
