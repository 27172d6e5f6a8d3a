import type { GlobalServer } from './global-setup';
import { expectServerHistoriesReplay } from './replay-check';

/**
 * Before the dev server stops: every workflow history the run left on it must replay with the current workflow code
 * (a throw here makes jest exit non-zero). The server stops either way.
 */
export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __temporalServer?: GlobalServer }).__temporalServer;
  if (!server) return;
  try {
    await expectServerHistoriesReplay({ address: server.address, label: 'jest' });
  } finally {
    await server.stop();
  }
}
