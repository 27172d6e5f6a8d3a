import type { Command } from 'commander';
import { unfenceInput } from '../../workflows/contract/inputs';
import { checked, projectInput, withClient } from '../context';
import { EXIT } from '../exit';
import { load } from '../lazy';

type Flags = { project?: string; prod?: string; database?: string; role?: string };

/** unfence: the operator's lift of a write fence a run left on prod. */
export function registerUnfence(program: Command): void {
  program
    .command('unfence')
    .description(
      "lift neon-promote's write fence from prod (one a run left up); refuses prod's own read-only setting (exit 4). " +
        'A promotion still before its swap then stops; one in its swap loses the writes until it ends',
    )
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--prod <name>', 'name of the prod branch (default prod)')
    .option('--database <name>', 'the fenced database (default neondb)')
    .option('--role <name>', 'role to connect as (default neondb_owner)')
    .action(async (flags: Flags, cmd: Command) => {
      const input = checked(unfenceInput(), projectInput(flags));
      await withClient(cmd, async (ctx) => {
        const { unfence } = load.unfence();
        const result = await unfence(ctx.client.temporal, ctx.client.taskQueue, input);
        if (ctx.json) ctx.emit(result);
        else if (result.outcome === 'lifted')
          ctx.term.line(`fence lifted: prod takes writes again (${result.sessionsEnded} read-only session(s) ended)`);
        else ctx.term.line('no fence: prod carries no write fence of neon-promote');
        return EXIT.ok;
      });
    });
}
