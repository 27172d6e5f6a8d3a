import { NeonPromoteClient } from '../client';
import { startStack } from '../dev/stack';

/**
 * `npm run demo`: starts the local stack (Temporal dev server, Neon emulator, worker), runs a workflow through it and
 * stops. The runs stay in .data/temporal.db, so `npm run dev` shows them in the UI afterwards.
 */
async function main(): Promise<void> {
  const started = Date.now();
  const stack = await startStack();
  let failed = false;
  try {
    const client = await NeonPromoteClient.connect({
      temporal: { address: stack.temporal.address, namespace: 'default' },
    });
    try {
      const workflowId = `demo-health-check-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const result = await client.healthCheck('neon-promote demo', workflowId);
      console.log(`health check  ${result.reply}  (worker ${result.worker}, run ${workflowId})`);
    } finally {
      await client.close();
    }
  } catch (err) {
    failed = true;
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await stack.stop();
  }
  console.log(`\nTemporal UI (while \`npm run dev\` runs): ${stack.temporal.uiUrl}`);
  console.log(`demo ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failed) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
