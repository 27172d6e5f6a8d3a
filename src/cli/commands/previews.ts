import type { Command } from 'commander';
import { deletePreviewInput, listPreviewsInput, previewInput, previewRef } from '../../workflows/contract/inputs';
import { checked, projectOf, withClient } from '../context';
import { EXIT, Refusal } from '../exit';
import { load } from '../lazy';
import { previewLines } from '../preview-list';
import { PREVIEW_PREFIX } from '../../workflows/contract/names';
import type { Ctx } from '../context';
import { InvalidInputError } from '../../client/input-errors';

type Flags = { project?: string; dev?: string };

/** preview create|reset|delete|list: short-lived child branches of dev. */
export function registerPreviews(program: Command): void {
  const preview = program.command('preview').description('short-lived child branches of dev');
  const base = (command: Command) =>
    command
      .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
      .option('--dev <name>', 'name of the dev branch');

  base(preview.command('create <label>'))
    .description('a child branch of dev with a read-write endpoint and an expiry')
    .option('--expires-in <duration>', 'e.g. 2h, 7 days (default 7 days)')
    .action(async (label: string, flags: Flags & { expiresIn?: string }, cmd: Command) => {
      const input = checked(previewInput(), {
        projectId: projectOf(flags),
        label,
        ...(flags.dev ? { devBranchName: flags.dev } : {}),
        ...(flags.expiresIn ? { expiresIn: flags.expiresIn } : {}),
      });
      await withClient(cmd, async (ctx) => {
        const result = await ctx.client.createPreview(input);
        if (ctx.json) ctx.emit(result);
        else
          ctx.term.line(
            `${result.outcome} ${result.name} (branch ${result.branchId}, endpoint ${result.endpointId}, expires ${result.expiresAt})`,
          );
        return EXIT.ok;
      });
    });

  base(preview.command('reset <name>'))
    .description("reset a preview to dev's head (same branch, endpoint and connection string)")
    .action(async (name: string, flags: Flags, cmd: Command) => {
      const input = checked(previewRef(), {
        projectId: projectOf(flags),
        name,
        ...(flags.dev ? { devBranchName: flags.dev } : {}),
      });
      await withClient(cmd, async (ctx) => {
        const branch = await previewNamed(ctx, input.projectId, input.devBranchName ?? 'dev', name);
        const result = await ctx.client.resetPreview({ ...input, name: branch });
        if (ctx.json) ctx.emit(result);
        else ctx.term.line(`${result.outcome} ${branch}`);
        return EXIT.ok;
      });
    });

  base(preview.command('delete <name>'))
    .description('delete a preview')
    .action(async (name: string, flags: Flags, cmd: Command) => {
      const input = checked(deletePreviewInput(), {
        projectId: projectOf(flags),
        name,
        ...(flags.dev ? { devBranchName: flags.dev } : {}),
      });
      await withClient(cmd, async (ctx) => {
        const branch = await previewNamed(ctx, input.projectId, input.devBranchName ?? 'dev', name);
        const result = await ctx.client.deletePreview({ ...input, name: branch });
        if (ctx.json) ctx.emit(result);
        else if (result.outcome === 'noop') ctx.term.line(`no preview named ${quoted(name, branch)}: nothing deleted`);
        else ctx.term.line(`${result.outcome} ${branch}`);
        return EXIT.ok;
      });
    });

  base(preview.command('connection-string <name>'))
    .description(
      "a preview's connection string, for psql or an application (read from the Neon API with this shell's " +
        'NEON_API_KEY, as neonctl would; the worker never hands out passwords)',
    )
    .option('--database <name>', 'database (default neondb)')
    .option('--role <name>', 'role (default neondb_owner)')
    .option('--pooled', "through Neon's connection pooler")
    .action(
      async (name: string, flags: Flags & { database?: string; role?: string; pooled?: boolean }, cmd: Command) => {
        const { projectId } = checked(previewRef(), { projectId: projectOf(flags), name });
        const json = Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json);
        const found = await previewConnection(projectId, name, {
          databaseName: flags.database ?? 'neondb',
          roleName: flags.role ?? 'neondb_owner',
          pooled: Boolean(flags.pooled),
        });
        process.stdout.write(json ? `${JSON.stringify(found, null, 2)}\n` : `${found.uri}\n`);
        process.exitCode = EXIT.ok;
      },
    );

  base(preview.command('list'))
    .description(
      "the project's previews as Neon has them now (children of dev), and which ones neon-promote made; " +
        'read by the worker (a listPreviews run), so no Neon key is needed here',
    )
    .action(async (flags: Flags, cmd: Command) => {
      const { projectId, devBranchName } = checked(listPreviewsInput(), {
        projectId: projectOf(flags),
        devBranchName: flags.dev ?? 'dev',
      });
      await withClient(cmd, async (ctx) => {
        const previews = await ctx.client.listPreviews(projectId, { dev: devBranchName });
        if (ctx.json) ctx.emit(previews);
        else for (const line of previewLines(previews)) ctx.term.line(line);
        return EXIT.ok;
      });
    });
}

/**
 * The branch a preview name means: `preview create feature-x` makes `preview-feature-x`, so `feature-x` names it too.
 * A branch named exactly as given (a preview made with a name of its own, or by hand) wins; the prefixed name is
 * meant otherwise. Only a name without the prefix costs the look-up (a short read-only listPreviews run).
 */
async function previewNamed(ctx: Ctx, projectId: string, dev: string, name: string): Promise<string> {
  if (name.startsWith(PREVIEW_PREFIX)) return name;
  const previews = await ctx.client.listPreviews(projectId, { dev });
  return previews.some((preview) => preview.name === name) ? name : `${PREVIEW_PREFIX}${name}`;
}

const quoted = (name: string, branch: string) => (name === branch ? `"${name}"` : `"${name}" or "${branch}"`);

/** The preview's branch at Neon (by the name given, else with the prefix create adds) and its connection string. */
async function previewConnection(
  projectId: string,
  name: string,
  request: { databaseName: string; roleName: string; pooled: boolean },
): Promise<{ name: string; branchId: string; uri: string }> {
  const apiKey = process.env.NEON_API_KEY;
  if (!apiKey)
    throw new InvalidInputError(
      'preview connection-string reads the Neon API: set NEON_API_KEY (and NEON_API_BASE_URL for the emulator; ' +
        'for the local stack: source .data/stack.env)',
      'NEON_API_KEY',
    );
  const { createNeonClient } = load.neon();
  const neon = createNeonClient({ apiKey, baseUrl: process.env.NEON_API_BASE_URL || undefined });
  const branches = await neon.listBranches(projectId);
  const branch =
    branches.find((candidate) => candidate.name === name) ??
    branches.find((candidate) => candidate.name === `${PREVIEW_PREFIX}${name}`);
  if (!branch)
    throw new Refusal(`no preview named ${quoted(name, `${PREVIEW_PREFIX}${name}`)} in project ${projectId}`);
  const uri = await neon.getConnectionUri(projectId, { branchId: branch.id, ...request });
  return { name: branch.name, branchId: branch.id, uri };
}
