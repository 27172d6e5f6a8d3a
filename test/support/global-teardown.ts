import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { expectServerHistoriesReplay } from './replay-check';

/**
 * Before the dev server stops: every workflow history the run left on it must replay with the current workflow code
 * (a throw here makes jest exit non-zero). The server stops either way.
 */
export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __temporalEnv?: TestWorkflowEnvironment }).__temporalEnv;
  if (!env) return;
  try {
    await expectServerHistoriesReplay({ address: env.address, label: 'jest' });
  } finally {
    await env.teardown();
  }
}
