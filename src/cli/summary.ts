import type { CheckResult, VerifyBranchResult } from '../activities/contract';
import type { WriteReport } from '../workflows/contract/definitions';
import { sinceForkLines } from './prod-writes';
import { EXIT, exitForOutcome } from './exit';
import { seconds, type Terminal } from './terminal';

/** The fields of a run's result the final screen reads; every workflow's result has some of them. */
export type RunResult = {
  outcome?: string;
  reason?: string | null;
  plan?: {
    prodBranchId?: string;
    devBranchId?: string;
    schemaDiff?: { identical: boolean; diff: string; truncated: boolean };
    freeSnapshotSlots?: number | null;
    expiredSnapshots?: { name: string }[];
    rotatedSnapshots?: { name: string }[];
  };
  rollbackSnapshotId?: string | null;
  rollbackSnapshotExpiresAt?: string | null;
  backupBranch?: { id: string; name?: string; expiresAt: string | null } | null;
  approval?: { approved: boolean; by: string; comment: string | null; at: string } | null;
  verification?: { candidate: VerifyBranchResult | null; prod: VerifyBranchResult | null };
  writes?: WriteReport | null;
};

/** The run's address in the Temporal UI, when the local stack or the operator says where the UI is. */
export function uiLink(workflowId: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const ui = env.NEON_PROMOTE_UI_URL;
  if (!ui) return null;
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  return `${ui.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** One check's line: its mark, name and, when it failed, why. */
export function checkLine(term: Terminal, check: CheckResult): string {
  if (check.ok) return `    ${term.green('✔')} ${check.name}`;
  return `    ${term.red('✘')} ${check.name}: ${check.detail ?? 'failed'}`;
}

/** Where each check ran and how it ended: every check, failed ones with their reason. */
function checkLines(term: Terminal, verification: RunResult['verification']): string[] {
  const lines: string[] = [];
  const where = { candidate: 'on the candidate (before the swap)', prod: 'on prod (after the swap)' } as const;
  for (const phase of ['candidate', 'prod'] as const) {
    const result = verification?.[phase];
    if (!result) continue;
    lines.push(`  checks ${where[phase]}: ${result.ok ? term.green('passed') : term.red('FAILED')}`);
    lines.push(...result.checks.map((check) => checkLine(term, check)));
  }
  return lines;
}

/** A dry run's plan: what a promotion now would find and change. */
export function planLines(term: Terminal, plan: NonNullable<RunResult['plan']>): string[] {
  const lines = ['plan:'];
  if (plan.prodBranchId) lines.push(`  prod ${plan.prodBranchId} <- dev ${plan.devBranchId ?? '?'}`);
  if (plan.freeSnapshotSlots !== undefined && plan.freeSnapshotSlots !== null)
    lines.push(`  snapshot slots free: ${plan.freeSnapshotSlots}`);
  const freed = [...(plan.expiredSnapshots ?? []), ...(plan.rotatedSnapshots ?? [])];
  if (freed.length) lines.push(`  snapshots it would delete to make room: ${freed.map((s) => s.name).join(', ')}`);
  const diff = plan.schemaDiff;
  if (!diff) return lines;
  if (diff.identical) {
    lines.push("  schema: dev's is prod's (no change)");
    return lines;
  }
  lines.push("  schema diff (prod -> dev, what prod's schema becomes):");
  for (const line of diff.diff.split('\n')) {
    if (line === '') continue;
    const painted = line.startsWith('+') && !line.startsWith('+++') ? term.green(line) : line;
    lines.push(`    ${line.startsWith('-') && !line.startsWith('---') ? term.red(line) : painted}`);
  }
  if (diff.truncated) lines.push(term.dim('    (diff cut short; the whole of it: --json)'));
  return lines;
}

/**
 * The final screen of a run followed with --wait: prod's writes, the plan of a dry run, every check with its reason,
 * the approval, the rollback point and the backup, then the outcome with the total time and the run's UI link.
 */
export function summaryLines(
  term: Terminal,
  run: { workflowId: string; command: string; tookMs: number | null },
  result: RunResult,
): string[] {
  const lines = [...sinceForkLines(term, result.writes)];
  if (result.outcome === 'dry_run' && result.plan) lines.push(...planLines(term, result.plan));
  lines.push(...checkLines(term, result.verification));
  if (result.approval) {
    const comment = result.approval.comment ? `: "${result.approval.comment}"` : '';
    lines.push(
      `  ${result.approval.approved ? 'approved' : 'rejected'} by ${result.approval.by} at ${result.approval.at}${comment}`,
    );
  }
  if (result.rollbackSnapshotId) {
    const until = result.rollbackSnapshotExpiresAt ? `kept until ${result.rollbackSnapshotExpiresAt}` : 'no expiry';
    lines.push(`  rollback point: snapshot ${result.rollbackSnapshotId} (${until})`);
  }
  if (result.backupBranch) {
    const { id, name, expiresAt } = result.backupBranch;
    lines.push(
      `  backup of the replaced branch: ${name ? `${name} ` : ''}${id} (${expiresAt ? `until ${expiresAt}` : 'no expiry'})`,
    );
  }
  const outcome = result.outcome ?? 'done';
  const painted = exitForOutcome(outcome, run.command) === EXIT.ok ? term.green(outcome) : term.red(outcome);
  lines.push(`${term.bold(painted)}${result.reason ? `: ${result.reason}` : ''}`);
  const link = uiLink(run.workflowId);
  if (run.tookMs !== null) lines.push(`  took ${seconds(run.tookMs)}${link ? `; in the Temporal UI: ${link}` : ''}`);
  else if (link) lines.push(`  in the Temporal UI: ${link}`);
  return lines;
}
