import { startStack } from './stack';

/** `npm run dev`: the local stack, until Ctrl-C. */
async function main(): Promise<void> {
  const stack = await startStack();
  console.log(`neon-promote local stack is up
  Temporal UI        ${stack.temporal.uiUrl}
  Temporal address   ${stack.temporal.address}   (task queue ${stack.taskQueue})
  Neon emulator      ${stack.emulator.baseUrl}
  settings for other shells: source ${stack.envFile}
Press Ctrl-C to stop.`);
  await stack.done;
  console.log('stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
