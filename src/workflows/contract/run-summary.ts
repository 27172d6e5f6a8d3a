/**
 * What a run's page in the Temporal UI says it is: a one-line static summary (also in the run lists) and static
 * details (the project, what the run does, the choices its input made). Both are set when the run starts and kept in
 * its history, so they hold nothing secret: only the input's names and choices, never SQL or URLs. No SDK and no I/O:
 * the client, activities and workflows (the coordinator starts runs as its children) all use it.
 */

/** What each workflow the product starts does, in a sentence. */
const PURPOSES: Readonly<Record<string, string>> = {
  promote:
    "Makes dev's schema and data prod's: checks the plan, snapshots prod (the rollback point), restores dev's state " +
    'as a candidate and verifies it, swaps it in as prod and verifies prod, rolling back if a check fails. A refusal ' +
    '(project busy, a precondition or limit, checks failing before the swap) changes nothing.',
  refreshDev:
    "Gives dev prod's current schema and data (dev is restored from a new snapshot of prod, the old dev kept as a " +
    'backup for a while). Refused, changing nothing, when dev holds changes never promoted, unless forced.',
  rollback:
    'Restores prod from a rollback snapshot a promotion left, verifies it, and keeps the replaced prod as a backup.',
  setupEnvironments: 'Makes dev from a snapshot of prod (the fork point) and protects prod.',
  janitor: 'Deletes what earlier runs of the project left and no longer need (expired snapshots, backups, helpers).',
  createPreview: 'Makes a preview branch from dev, with its own endpoint, deleted when it expires.',
  resetPreview: "Gives a preview branch dev's current data (Neon's reset from parent).",
  deletePreview: 'Deletes a preview branch (at its expiry when started by its creation).',
  listPreviews: "Reads the project's previews from Neon (read-only).",
  unfence: "Lifts a write fence neon-promote left on prod (read-only; the owner's own setting is left alone).",
  snapshotInventory: "Lists the project's snapshots and which runs made them (read-only).",
  expireSnapshot: 'Deletes a rollback snapshot once its retention has passed.',
  scheduledRun: "A schedule's firing: submits the project's run through its coordinator and waits for it.",
  deliverNotification: "Delivers one run's outcome to the worker's webhook, retrying for up to a day.",
  healthCheck: 'Checks that a worker answers on the task queue.',
  projectCoordinator:
    'Not a promotion: the coordinator of one project. It admits the changing runs of its project (setup, promote, ' +
    'refresh, rollback, janitor) one at a time, queues the rest, and lifts a fence a finished run left. It runs for ' +
    'as long as the project is managed (continuing as new now and then), so it always shows as Running.',
};

/** The input's choices worth a line, by field, in the order shown; values longer than a line are cut. */
const CHOICES: ReadonlyArray<readonly [string, string]> = [
  ['prodBranchName', 'prod branch'],
  ['devBranchName', 'dev branch'],
  ['databaseName', 'database'],
  ['name', 'preview'],
  ['label', 'preview label'],
  ['strategy', 'strategy'],
  ['writePolicy', 'writes to prod'],
  ['dryRun', 'dry run'],
  ['force', 'force'],
  ['snapshotId', 'snapshot'],
  ['snapshotName', 'snapshot'],
  ['requestedBy', 'requested by'],
  ['kind', 'kind'],
];

const fieldsOf = (input: unknown): Record<string, unknown> =>
  typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};

const shown = (value: unknown): string | null => {
  if (typeof value === 'string') return value.length > 80 ? `${value.slice(0, 77)}...` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
};

/** The checks a run will make, by name (their SQL stays in the input). */
function checkNames(value: unknown): string | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const names = value.map((check) => shown(fieldsOf(check).name) ?? '?');
  return `${names.length}: ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''}`;
}

/** The one line: "promote of project X: dev → prod", "dry-run promote ...", "coordinator of project X". */
export function runSummary(workflowType: string, input: unknown): string {
  const fields = fieldsOf(input);
  const project = shown(fields.projectId) ?? '?';
  const dev = shown(fields.devBranchName) ?? 'dev';
  const prod = shown(fields.prodBranchName) ?? 'prod';
  switch (workflowType) {
    case 'promote':
      return `${fields.dryRun === true ? 'dry-run promotion' : 'promotion'} of project ${project}: ${dev} → ${prod}`;
    case 'refreshDev':
      return `refresh of project ${project}: ${prod} → ${dev}${fields.force === true ? ' (forced)' : ''}`;
    case 'rollback':
      return `rollback of project ${project}: ${prod} from a rollback snapshot`;
    case 'setupEnvironments':
      return `setup of project ${project}: ${dev} from ${prod}`;
    case 'projectCoordinator':
      return `coordinator of project ${project} (admits its runs one at a time; always running)`;
    case 'scheduledRun':
      return `scheduled ${shown(fields.kind) ?? 'run'} of project ${project}`;
    default: {
      const name = shown(fields.name);
      const of = fields.projectId === undefined ? '' : ` of project ${project}`;
      return `${workflowType}${of}${name ? `: ${name}` : ''}`;
    }
  }
}

/** The run page's details (Temporal markdown): the project, what the run does, and the input's choices. */
export function runDetails(workflowType: string, input: unknown): string {
  const fields = fieldsOf(input);
  const project = shown(fields.projectId);
  const choices: string[] = [];
  for (const [field, label] of CHOICES) {
    const value = shown(fields[field]);
    if (value !== null) choices.push(`- ${label}: ${value}`);
  }
  const checks = checkNames(fields.checks);
  if (checks) choices.push(`- checks before the swap: ${checks}`);
  const postSwap = checkNames(fields.postSwapChecks);
  if (postSwap) choices.push(`- checks after the swap: ${postSwap}`);
  const sections = [
    project ? `**Project:** ${project}` : '',
    PURPOSES[workflowType] ?? workflowType,
    choices.join('\n'),
    workflowType === 'projectCoordinator'
      ? ''
      : 'Steps and outcome: see the current details; `neon-promote status <workflow ID>` shows the same.',
  ];
  return sections.filter((section) => section !== '').join('\n\n');
}

/** Both, as workflow start options take them. */
export function runMetadata(workflowType: string, input: unknown): { staticSummary: string; staticDetails: string } {
  return { staticSummary: runSummary(workflowType, input), staticDetails: runDetails(workflowType, input) };
}
