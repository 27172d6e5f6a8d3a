import type { Command } from 'commander';
import { deletePreviewInput, listPreviewsInput, previewInput, previewRef } from '../../workflows/contract/inputs';
import { checked, projectOf, withClient } from '../context';
import { EXIT } from '../exit';
import { previewLines } from '../preview-list';

type Flags = { project?: string; dev?: string };

/** preview create|reset|delete|list: short-lived child branches of dev. */
export function registerPreviews(program: Command): void {
  const preview = program.command('preview').description('short-lived child branches of dev');
  const base = (c: Command) =>
    c.option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)').option('--dev <name>', 'name of the dev branch');

  base(preview.command('create <label>'))
    .description('a child branch of dev with a read-write endpoint and an expiry')
    .option('--expires-in <duration>', 'e.g. 2h, 7 days (default 7 days)')
    .action(async (label: string, o: Flags & { expiresIn?: string }, cmd: Command) => {
      const input = checked(previewInput(), {
        projectId: projectOf(o),
        label,
        ...(o.dev ? { devBranchName: o.dev } : {}),
        ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}),
      });
      await withClient(cmd, async (ctx) => {
        const r = await ctx.client.createPreview(input);
        if (ctx.json) ctx.emit(r);
        else
          ctx.term.line(
            `${r.outcome} ${r.name} (branch ${r.branchId}, endpoint ${r.endpointId}, expires ${r.expiresAt})`,
          );
        return EXIT.ok;
      });
    });

  base(preview.command('reset <name>'))
    .description("reset a preview to dev's head (same branch, endpoint and connection string)")
    .action(async (name: string, o: Flags, cmd: Command) => {
      const input = checked(previewRef(), {
        projectId: projectOf(o),
        name,
        ...(o.dev ? { devBranchName: o.dev } : {}),
      });
      await withClient(cmd, async (ctx) => {
        const r = await ctx.client.resetPreview(input);
        if (ctx.json) ctx.emit(r);
        else ctx.term.line(`${r.outcome} ${name}`);
        return EXIT.ok;
      });
    });

  base(preview.command('delete <name>'))
    .description('delete a preview')
    .action(async (name: string, o: Flags, cmd: Command) => {
      const input = checked(deletePreviewInput(), {
        projectId: projectOf(o),
        name,
        ...(o.dev ? { devBranchName: o.dev } : {}),
      });
      await withClient(cmd, async (ctx) => {
        const r = await ctx.client.deletePreview(input);
        if (ctx.json) ctx.emit(r);
        else ctx.term.line(`${r.outcome} ${name}`);
        return EXIT.ok;
      });
    });

  base(preview.command('list'))
    .description(
      "the project's previews as Neon has them now (children of dev), and which ones neon-promote made; " +
        'read by the worker (a listPreviews run), so no Neon key is needed here',
    )
    .action(async (o: Flags, cmd: Command) => {
      const { projectId, devBranchName } = checked(listPreviewsInput(), {
        projectId: projectOf(o),
        devBranchName: o.dev ?? 'dev',
      });
      await withClient(cmd, async (ctx) => {
        const previews = await ctx.client.listPreviews(projectId, { dev: devBranchName });
        if (ctx.json) ctx.emit(previews);
        else for (const line of previewLines(previews)) ctx.term.line(line);
        return EXIT.ok;
      });
    });
}
