/**
 * The demo's story, one step per phase of the product. Each step says what it expects prod to hold afterwards, and
 * the runner reads prod through the connection string it had on day one to check it: that string never changes,
 * whatever happens to the branches behind it.
 */
import type { VerificationCheck } from '../../src/activities/contract';
import { connectionUri, createProject, query, readWriteEndpoint } from './neon';
import type { PromoteResult } from '../../src/workflows';
import { appState, describeState, FAULTY_CHANGE, loadSampleApp, MIGRATION, SAMPLE, type AppState } from './sample-app';
import type { StoryContext } from './runner';
import { checkSubmissions, describeSubmitted, DEV_TRIAGE, submitForms, SUBMISSIONS_TABLE } from './submissions';
import { startDemoWriter } from './writer';

export type StepOutcome = { outcome: string; ok: boolean; note: string };

export type Step = {
  name: string;
  title: string;
  /** What prod must hold after the step, read through its unchanged connection string. */
  prod: Partial<AppState>;
  run(ctx: StoryContext): Promise<StepOutcome>;
};

const ORIGINAL = { orders: SAMPLE.orders, hasStatus: false, negativeTotals: 0, submissions: SAMPLE.submissions };
const MIGRATED = { orders: SAMPLE.orders, hasStatus: true, negativeTotals: 0 };
/** Prod's submissions once visitors used the form: 5 new, 1 withdrawn (submissions.ts). */
const SUBMITTED = SAMPLE.submissions + 5 - 1;
/**
 * The form's table is named in every promotion: dev never has the submissions prod took since the fork (nor, after a
 * promotion that carried them, the carried ones), so a promotion that left it out would stop before the swap.
 */
const CARRY_SUBMISSIONS = { tables: [SUBMISSIONS_TABLE] };

/** Checks run on the candidate before the swap and on prod after it. */
const CHECKS: VerificationCheck[] = [
  { kind: 'tablesExist', name: 'app tables', tables: ['customers', 'products', 'orders'] },
  {
    kind: 'sql',
    name: 'orders.status exists',
    sql: `SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'status'`,
    expect: { value: 1 },
  },
];
/** The application's smoke test, run against prod after the swap (it needs the real endpoint). */
const SMOKE_TEST: VerificationCheck[] = [
  {
    kind: 'sql',
    name: 'no negative totals',
    sql: 'SELECT count(*)::int FROM orders WHERE total_cents < 0',
    expect: { value: 0 },
  },
];

export const STORY: Step[] = [
  {
    name: 'sample project',
    title:
      `a new project whose prod holds a small shop (${SAMPLE.customers} customers, ${SAMPLE.orders} orders) ` +
      `and its contact form's ${SAMPLE.submissions} submissions`,
    prod: ORIGINAL,
    async run(ctx) {
      const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
      const p = await createProject(ctx.neon, `demo-shop-${stamp}`);
      ctx.projectId = p.projectId;
      ctx.prodUri = p.prodUri;
      await loadSampleApp(p.prodUri);
      const endpoint = await readWriteEndpoint(ctx.neon, p.projectId, 'prod');
      ctx.term.line(
        `    project ${p.projectId}; prod's endpoint ${endpoint}: its connection string is used throughout`,
      );
      return { outcome: 'created', ok: true, note: `project ${p.projectId}` };
    },
  },
  {
    name: 'setup',
    title: 'dev as a second root branch holding a copy of prod; prod protected',
    prod: ORIGINAL,
    async run(ctx) {
      const r = await ctx.watch(ctx.client.startSetup({ projectId: ctx.project() }, { summary: 'demo: setup' }));
      const dev = await appState(await connectionUri(ctx.neon, ctx.project(), 'dev'));
      return {
        outcome: r.outcome,
        ok: r.outcome === 'created' && dev.orders === SAMPLE.orders,
        note: `dev: ${describeState(dev)}`,
      };
    },
  },
  {
    name: 'preview',
    title: 'a preview branch of dev, where the schema change is tried first',
    prod: ORIGINAL,
    async run(ctx) {
      const input = { projectId: ctx.project(), label: 'order-status', expiresIn: '1d' };
      const r = await ctx.watchPreview('createPreview', (id) => ctx.client.createPreview(input, id));
      const uri = await connectionUri(ctx.neon, ctx.project(), r.name);
      await query(uri, MIGRATION);
      const [preview, dev] = await Promise.all([
        appState(uri),
        appState(await connectionUri(ctx.neon, ctx.project(), 'dev')),
      ]);
      const ok = r.outcome === 'created' && preview.hasStatus && !dev.hasStatus;
      return { outcome: r.outcome, ok, note: `${r.name} has orders.status; dev does not yet` };
    },
  },
  {
    name: 'change on dev',
    title: 'the change applied to dev; the preview deleted',
    prod: ORIGINAL,
    async run(ctx) {
      await query(await connectionUri(ctx.neon, ctx.project(), 'dev'), MIGRATION);
      const input = { projectId: ctx.project(), name: 'preview-order-status' };
      const r = await ctx.watchPreview('deletePreview', (id) => ctx.client.deletePreview(input, id));
      const dev = await appState(await connectionUri(ctx.neon, ctx.project(), 'dev'));
      return { outcome: 'applied', ok: dev.hasStatus && r.outcome === 'deleted', note: `dev: ${describeState(dev)}` };
    },
  },
  {
    name: 'form submissions',
    title: 'visitors use the contact form on prod while dev is edited (dev adds submissions.answered, answers #1)',
    prod: { ...ORIGINAL, submissions: SUBMITTED },
    async run(ctx) {
      const devUri = await connectionUri(ctx.neon, ctx.project(), 'dev');
      const [submitted] = await Promise.all([submitForms(ctx.prodUri!), query(devUri, DEV_TRIAGE)]);
      ctx.submitted = submitted;
      return { outcome: 'submitted', ok: true, note: describeSubmitted(submitted) };
    },
  },
  {
    name: 'promotion',
    title:
      "promote dev to prod: prod's writes since the fork counted, candidate verified, swap, submissions carried, " +
      'prod verified',
    prod: { ...MIGRATED, submissions: SUBMITTED },
    async run(ctx) {
      const input = {
        projectId: ctx.project(),
        checks: CHECKS,
        postSwapChecks: SMOKE_TEST,
        reconcile: CARRY_SUBMISSIONS,
      };
      const r = await ctx.watch(ctx.client.startPromotion(input, { summary: 'demo: add orders.status' }));
      ctx.firstRollbackSnapshot = r.rollbackSnapshotId ?? undefined;
      ctx.term.line(`    prod branch ${r.prodBranchId.before} -> ${r.prodBranchId.after}`);
      if (!ctx.submitted) return { outcome: r.outcome, ok: false, note: 'no submissions were made' };
      const seen = await checkSubmissions(ctx.prodUri!, ctx.submitted);
      const { since, carried, detail } = carriedCounts(r, SUBMISSIONS_TABLE.table);
      ctx.term.line(`    ${detail} (result.writes.sinceFork, result.writes.reconciled)`);
      const ok =
        r.outcome === 'promoted' && seen.missing === 0 && seen.resurrected === 0 && seen.devAnswered && carried > 0;
      const note =
        `since the fork ${since} writes to submissions, ${carried} carried; ${seen.missing} of ` +
        `${ctx.submitted.messages.size} missing${seen.resurrected ? `, ${seen.resurrected} withdrawn back` : ''}` +
        (seen.devAnswered ? ", dev's #1 answered" : ", dev's change missing");
      return { outcome: r.outcome, ok, note };
    },
  },
  {
    name: 'failed promotion',
    title: "a faulty data change on dev: prod's smoke test fails after the swap and prod is rolled back",
    prod: { ...MIGRATED, submissions: SUBMITTED },
    async run(ctx) {
      await query(await connectionUri(ctx.neon, ctx.project(), 'dev'), FAULTY_CHANGE);
      const input = {
        projectId: ctx.project(),
        checks: CHECKS,
        postSwapChecks: SMOKE_TEST,
        reconcile: CARRY_SUBMISSIONS,
      };
      const r = await ctx.watch(ctx.client.startPromotion(input, { summary: 'demo: faulty totals' }));
      return { outcome: r.outcome, ok: r.outcome === 'rolled_back', note: r.reason ?? '' };
    },
  },
  {
    name: 'rollback',
    title: 'prod rolled back to the snapshot taken before the first promotion (it holds the submissions)',
    prod: { ...ORIGINAL, submissions: SUBMITTED },
    async run(ctx) {
      const snapshotId = ctx.firstRollbackSnapshot;
      if (!snapshotId) return { outcome: 'not run', ok: false, note: 'the first promotion left no rollback snapshot' };
      const input = { projectId: ctx.project(), snapshotId };
      const r = await ctx.watch(ctx.client.startRollback(input, { summary: 'demo: rollback' }));
      return { outcome: r.outcome, ok: r.outcome === 'rolled_back', note: `to snapshot ${r.snapshot.name}` };
    },
  },
  {
    name: 'dev refresh',
    title: "an order placed on prod, then dev refreshed from prod (dev's faulty data replaced)",
    prod: { ...ORIGINAL, orders: SAMPLE.orders + 1, submissions: SUBMITTED },
    async run(ctx) {
      await query(
        ctx.prodUri!,
        `INSERT INTO orders (customer_id, product_id, quantity, total_cents) VALUES (1, 1, 1, 750)`,
      );
      const r = await ctx.watch(
        // force: dev's faulty change was never promoted (its promotion was rolled back); discarding it is the point.
        ctx.client.startRefresh({ projectId: ctx.project(), force: true }, { summary: 'demo: refresh dev' }),
      );
      const dev = await appState(await connectionUri(ctx.neon, ctx.project(), 'dev'));
      const ok = r.outcome === 'refreshed' && dev.negativeTotals === 0 && dev.orders === SAMPLE.orders + 1;
      return { outcome: r.outcome, ok, note: `dev: ${describeState(dev)}` };
    },
  },
  {
    name: 'live writes',
    title:
      'the change applied to dev again and promoted while a writer inserts into prod every 5 ms: the fence and the ' +
      'carry lose nothing',
    prod: { ...MIGRATED, orders: SAMPLE.orders + 1, submissions: SUBMITTED },
    async run(ctx) {
      await query(await connectionUri(ctx.neon, ctx.project(), 'dev'), MIGRATION);
      const writer = startDemoWriter(ctx.prodUri!);
      let r;
      try {
        // The page views prod takes until the fence are carried; those after the swap land on the new prod itself.
        const reconcile = { tables: [...CARRY_SUBMISSIONS.tables, { table: 'page_views', key: ['id'] }] };
        const input = { projectId: ctx.project(), checks: CHECKS, writePolicy: 'fence' as const, reconcile };
        r = await ctx.watch(ctx.client.startPromotion(input, { summary: 'demo: promotion under live writes' }));
        await new Promise((res) => setTimeout(res, 300)); // writing on the new prod
      } finally {
        await writer.stop();
      }
      const rows = await query<{ id: string }>(ctx.prodUri!, 'SELECT id FROM page_views');
      const inProd = new Set(rows.map((row) => Number(row.id)));
      const lost = writer.committed.filter((id) => !inProd.has(id)).length;
      const w = r.writes!;
      const { carried } = carriedCounts(r, 'page_views');
      const ok = r.outcome === 'promoted' && lost === 0 && w.detected === false && w.exact === true && carried > 0;
      const note =
        `${writer.committed.length} writes acknowledged, ${writer.refused} refused while fenced ` +
        `(${w.fence?.fencedForMs ?? '?'} ms), ${carried} carried, ${lost} lost`;
      return { outcome: r.outcome, ok, note };
    },
  },
];

const kinds = (inserts: number, updates: number, deletes: number) =>
  `${inserts} inserted, ${updates} updated, ${deletes} deleted`;

/** A table's writes since the fork and what the carry wrote of them to the new prod, from the promotion's result. */
function carriedCounts(r: PromoteResult, table: string) {
  const named = (t: { table: string }) => t.table === table || t.table === `public.${table}`;
  const counted = r.writes?.sinceFork?.tables.find(named);
  const merged = r.writes?.reconciled?.tables.find(named);
  const since = counted ? kinds(counted.inserts, counted.updates, counted.deletes) : 'none';
  const carried = merged ? kinds(merged.inserted, merged.updated, merged.deleted) : 'none';
  return {
    since: counted ? counted.inserts + counted.updates + counted.deletes : 0,
    carried: merged ? merged.inserted + merged.updated + merged.deleted : 0,
    detail: `${table} since the fork: ${since}; carried: ${carried}`,
  };
}
