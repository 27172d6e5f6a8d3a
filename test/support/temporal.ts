import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { basename } from 'node:path';

/** Connections to the dev server that test/support/global-setup.ts started for this jest run. */
export type TestTemporal = {
  client: Client;
  nativeConnection: NativeConnection;
  namespace: string;
  /** A task queue of this test file's own, so files running in parallel never steal each other's tasks. */
  taskQueue: string;
  close(): Promise<void>;
};

export async function connectTestTemporal(testFile: string): Promise<TestTemporal> {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address)
    throw new Error('TEMPORAL_TEST_ADDRESS is not set: run the tests through jest (global setup starts the server)');
  const namespace = process.env.TEMPORAL_TEST_NAMESPACE ?? 'default';
  // A patient deadline: on a machine loaded by parallel suites the shared dev server can take longer than the default
  // 10 s to accept a new connection, and a connect failure there says nothing about the code under test.
  const connection = await Connection.connect({ address, connectTimeout: 60_000 });
  const nativeConnection = await NativeConnection.connect({ address });
  const taskQueue = `test-${basename(testFile).replace(/\.test\.ts$/, '')}-${process.pid}`;
  return {
    client: new Client({ connection, namespace }),
    nativeConnection,
    namespace,
    taskQueue,
    async close() {
      await nativeConnection.close();
      await connection.close();
    },
  };
}
