/**
 * The command-line flag for each input field a refusal can name: an operator typed `--write-policy`, not
 * `writePolicy`. Fields of the API that no flag sets keep their name.
 */
const FLAG_OF: Record<string, string> = {
  projectId: '--project',
  prodBranchName: '--prod',
  devBranchName: '--dev',
  databaseName: '--database',
  roleName: '--role',
  ifBusy: '--if-busy',
  workflowId: '--workflow-id',
  writePolicy: '--write-policy',
  fenceTimeout: '--fence-timeout',
  'approval.timeout': '--approval-timeout',
  'reconcile.onConflict': '--on-conflict',
  'reconcile.tables': '--reconcile-table',
  discardProdWrites: '--discard-prod-writes',
  strategy: '--strategy',
  'migrations.source.path': '--migrations-folder',
  'notify.url': '--notify-url',
  requestedBy: '--requested-by',
  snapshotId: '--snapshot',
  snapshotName: '--snapshot-name',
  expiresIn: '--expires-in',
  label: '<label>',
  name: '<name>',
  run: '<run>',
  by: '--by',
  limit: '--limit',
  type: '--type',
  cron: '--cron',
  timezone: '--timezone',
};

/** `checks.2.sql` -> `check 3`: the checks' order is that of --checks-file, --check, --tables-exist, --health-url. */
const LISTS: [RegExp, string][] = [
  [/^checks\.(\d+)(\.[\w.]+)?$/, 'check'],
  [/^postSwapChecks\.(\d+)(\.[\w.]+)?$/, 'post-swap check'],
];

/** The flag an input field comes from, or the field itself when no flag sets it. */
export function flagOf(field: string): string {
  const direct = FLAG_OF[field] ?? FLAG_OF[field.replace(/\.\d+(\..*)?$/, '')];
  if (direct) return direct;
  for (const [shape, name] of LISTS) {
    const match = shape.exec(field);
    if (match) return `${name} ${Number(match[1]) + 1}`;
  }
  return field;
}

/**
 * A refusal of the input said in the CLI's words: "invalid input: writePolicy: Invalid option: ..." becomes
 * "invalid input: --write-policy: invalid option: ...", and the API's `force` the `--force` flag.
 */
export function inFlagTerms(message: string): string {
  return message
    .replace(
      /^(invalid input: )([\w.]+)(: )(\w)/,
      (_all, head: string, field: string, colon: string, first: string) =>
        `${head}${flagOf(field)}${colon}${first.toLowerCase()}`,
    )
    .replace(/\brefresh with force\b/, 'refresh with --force')
    .replace(/\b(must differ from) (\w+)\b/g, (all, words: string, field: string) =>
      FLAG_OF[field] ? `${words} ${FLAG_OF[field]}` : all,
    );
}
