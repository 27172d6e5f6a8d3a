/**
 * The demo's story, one step per phase of the product. Each step says what it expects prod to hold afterwards, and
 * the runner reads prod through the connection string it had on day one to check it: that string never changes,
 * whatever happens to the branches behind it.
 */
import type { VerificationCheck } from '../../src/activities/contract';
import { connectionUri, createProject, query, readWriteEndpoint } from './neon';
import { appState, describeState, FAULTY_CHANGE, loadSampleApp, MIGRATION, SAMPLE, type AppState } from './sample-app';
import type { StoryContext } from './runner';
import { PAGE_VIEWS, pageViewsOn, startDemoWriter } from './writer';

export type StepOutcome = { outcome: string; ok: boolean; note: string };

export type Step = {
  name: string;
  title: string;
  /** What prod must hold after the step, read through its unchanged connection string. */
  prod: Partial<AppState>;
  run(ctx: StoryContext): Promise<StepOutcome>;
};

const ORIGINAL = { orders: SAMPLE.orders, hasStatus: false, negativeTotals: 0 };
const MIGRATED = { orders: SAMPLE.orders, hasStatus: true, negativeTotals: 0 };

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
    title: `a new project whose prod holds a small shop (${SAMPLE.customers} customers, ${SAMPLE.orders} orders)`,
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
    name: 'promotion',
    title: 'promote dev to prod: snapshots, candidate verified, swap, prod verified',
    prod: MIGRATED,
    async run(ctx) {
      const input = { projectId: ctx.project(), checks: CHECKS, postSwapChecks: SMOKE_TEST };
      const r = await ctx.watch(ctx.client.startPromotion(input, { summary: 'demo: add orders.status' }));
      ctx.firstRollbackSnapshot = r.rollbackSnapshotId ?? undefined;
      const note = `prod branch ${r.prodBranchId.before} -> ${r.prodBranchId.after}`;
      return { outcome: r.outcome, ok: r.outcome === 'promoted', note };
    },
  },
  {
    name: 'failed promotion',
    title: "a faulty data change on dev: prod's smoke test fails after the swap and prod is rolled back",
    prod: MIGRATED,
    async run(ctx) {
      await query(await connectionUri(ctx.neon, ctx.project(), 'dev'), FAULTY_CHANGE);
      const input = { projectId: ctx.project(), checks: CHECKS, postSwapChecks: SMOKE_TEST };
      const r = await ctx.watch(ctx.client.startPromotion(input, { summary: 'demo: faulty totals' }));
      return { outcome: r.outcome, ok: r.outcome === 'rolled_back', note: r.reason ?? '' };
    },
  },
  {
    name: 'dev refresh',
    title: "an order placed on prod, then dev refreshed from prod (dev's faulty data replaced)",
    prod: { ...MIGRATED, orders: SAMPLE.orders + 1 },
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
    name: 'rollback',
    title: 'prod rolled back to the snapshot taken before the first promotion',
    prod: ORIGINAL,
    async run(ctx) {
      const snapshotId = ctx.firstRollbackSnapshot;
      if (!snapshotId) return { outcome: 'not run', ok: false, note: 'the first promotion left no rollback snapshot' };
      const input = { projectId: ctx.project(), snapshotId };
      const r = await ctx.watch(ctx.client.startRollback(input, { summary: 'demo: rollback' }));
      return { outcome: r.outcome, ok: r.outcome === 'rolled_back', note: `to snapshot ${r.snapshot.name}` };
    },
  },
  {
    name: 'live writes',
    title: 'dev promoted again while a writer inserts into prod every 5 ms: the write fence loses nothing',
    prod: { ...MIGRATED, orders: SAMPLE.orders + 1 },
    async run(ctx) {
      const devUri = await connectionUri(ctx.neon, ctx.project(), 'dev');
      await Promise.all([query(ctx.prodUri!, PAGE_VIEWS), query(devUri, PAGE_VIEWS)]);
      const writer = startDemoWriter(ctx.prodUri!);
      let r;
      try {
        const input = { projectId: ctx.project(), checks: CHECKS, writePolicy: 'fence' as const };
        r = await ctx.watch(ctx.client.startPromotion(input, { summary: 'demo: promotion under live writes' }));
        await new Promise((res) => setTimeout(res, 300)); // writing on the new prod
      } finally {
        await writer.stop();
      }
      // Acknowledged before the fence: on the replaced prod (= the rollback snapshot); after the lift: on the new prod.
      const [before, after] = await Promise.all([
        pageViewsOn(ctx.neon, ctx.project(), r.prodBranchId.before),
        query<{ id: string }>(ctx.prodUri!, 'SELECT id FROM page_views').then((x) => new Set(x.map((y) => +y.id))),
      ]);
      const lost = writer.committed.filter((id) => !before.has(id) && !after.has(id)).length;
      const w = r.writes!;
      const ok = r.outcome === 'promoted' && lost === 0 && w.detected === false && w.exact === true;
      const note =
        `${writer.committed.length} writes acknowledged, ${lost} lost; ${writer.refused} refused while prod was ` +
        `fenced for ${w.fence?.fencedForMs ?? '?'} ms`;
      return { outcome: r.outcome, ok, note };
    },
  },
];
