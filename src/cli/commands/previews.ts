import type { Command } from 'commander';
import { deletePreviewInput, listPreviewsInput, previewInput, previewRef } from '../../workflows/contract/inputs';
import { checked, projectOf, withClient } from '../context';
import { EXIT } from '../exit';
import { previewLines } from '../preview-list';

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
        const result = await ctx.client.resetPreview(input);
        if (ctx.json) ctx.emit(result);
        else ctx.term.line(`${result.outcome} ${name}`);
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
        const result = await ctx.client.deletePreview(input);
        if (ctx.json) ctx.emit(result);
        else ctx.term.line(`${result.outcome} ${name}`);
        return EXIT.ok;
      });
    });

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
