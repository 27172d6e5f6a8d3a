import { Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { searchAttributeFlags } from '../../src/temporal/search-attributes';
import { freePort } from './ports';
import { logDescriptor, shownPath, startLog } from './test-logs';

export type TestServer = { address: string; namespace: string; uiUrl: string; stop(): Promise<void> };

/**
 * The dynamic config the SDK's TestWorkflowEnvironment.createLocal starts its dev server with (updates on, no version
 * check), so this server behaves as that one did.
 */
const SDK_DEV_SERVER_FLAGS = [
  ...['--dynamic-config-value', 'frontend.enableServerVersionCheck=false'],
  ...['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true'],
  ...['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true'],
];

/**
 * Starts `temporal server start-dev` (in memory, with the UI and neon-promote's search attributes) with its output in
 * `logFile` rather than on the terminal, and resolves once the default namespace answers.
 */
export async function startTestServer(cliPath: string, logFile: string): Promise<TestServer> {
  const [port, uiPort] = [await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  const namespace = 'default';
  startLog(logFile);
  const log = logDescriptor(logFile);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push('--namespace', namespace, '--log-format', 'pretty', '--log-level', 'warn');
  args.push(...SDK_DEV_SERVER_FLAGS, ...searchAttributeFlags());
  const child = spawn(cliPath, args, { stdio: ['ignore', log.fd, log.fd] });
  log.close();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Should jest end without its global teardown, the server goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const failed = (why: string) => {
    const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    return new Error(`the Temporal dev server ${why} (its log: ${shownPath(logFile)}):\n${tail}`);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw failed(`exited (${child.exitCode ?? child.signalCode})`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } finally {
        await connection.close();
      }
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw failed(`did not answer on ${address} within 60 s: ${String(err)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { address, namespace, uiUrl: `http://127.0.0.1:${uiPort}`, stop };
}
