import type { Command } from 'commander';
import { projectOf, withClient } from '../context';
import { EXIT } from '../exit';

type Flags = { project?: string; dev?: string };

/** preview create|reset|delete|list: short-lived child branches of dev. */
export function registerPreviews(program: Command): void {
  const preview = program.command('preview').description('short-lived child branches of dev');
  const base = (c: Command) =>
    c.option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)').option('--dev <name>', 'name of the dev branch');

  base(preview.command('create <label>'))
    .description('a child branch of dev with a read-write endpoint and an expiry')
    .option('--expires-in <duration>', 'e.g. 2h, 7 days (default 7 days)')
    .action((label: string, o: Flags & { expiresIn?: string }, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        const r = await ctx.client.createPreview({
          projectId: projectOf(o),
          label,
          ...(o.dev ? { devBranchName: o.dev } : {}),
          ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}),
        });
        if (ctx.json) ctx.emit(r);
        else
          ctx.term.line(
            `${r.outcome} ${r.name} (branch ${r.branchId}, endpoint ${r.endpointId}, expires ${r.expiresAt})`,
          );
        return EXIT.ok;
      }),
    );

  base(preview.command('reset <name>'))
    .description("reset a preview to dev's head (same branch, endpoint and connection string)")
    .action((name: string, o: Flags, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        const r = await ctx.client.resetPreview({ projectId: projectOf(o), name });
        if (ctx.json) ctx.emit(r);
        else ctx.term.line(`${r.outcome} ${name}`);
        return EXIT.ok;
      }),
    );

  base(preview.command('delete <name>'))
    .description('delete a preview')
    .action((name: string, o: Flags, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        const r = await ctx.client.deletePreview({ projectId: projectOf(o), name });
        if (ctx.json) ctx.emit(r);
        else ctx.term.line(`${r.outcome} ${name}`);
        return EXIT.ok;
      }),
    );

  base(preview.command('list'))
    .description('previews made by neon-promote (from its runs)')
    .action((o: Flags, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        const runs = await ctx.client.listRuns(projectOf(o), { type: 'createPreview', limit: 100 });
        if (ctx.json) ctx.emit(runs);
        else if (runs.length === 0) ctx.term.line('no previews');
        else for (const r of runs) ctx.term.line(`${r.startTime}  ${r.status.padEnd(10)} ${r.workflowId}`);
        return EXIT.ok;
      }),
    );
}
