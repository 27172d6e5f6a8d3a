import { Client, Connection } from '@temporalio/client';
import { connectionOptions, temporalSettingsFromEnv, type TemporalSettings } from './temporal/connection';
import { DEFAULT_TASK_QUEUE } from './worker';
import type { HealthCheckResult } from './workflows';

export type NeonPromoteClientOptions = {
  /** Defaults to the TEMPORAL_* environment settings. */
  temporal?: TemporalSettings;
  /** An existing Temporal client to use instead of connecting. */
  client?: Client;
  taskQueue?: string;
};

/** The typed entry point for services: starts and inspects neon-promote runs on Temporal. */
export class NeonPromoteClient {
  private constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    private readonly ownedConnection?: Connection,
  ) {}

  static async connect(opts: NeonPromoteClientOptions = {}): Promise<NeonPromoteClient> {
    const taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
    if (opts.client) return new NeonPromoteClient(opts.client, taskQueue);
    const settings = opts.temporal ?? temporalSettingsFromEnv();
    const connection = await Connection.connect(connectionOptions(settings));
    return new NeonPromoteClient(new Client({ connection, namespace: settings.namespace }), taskQueue, connection);
  }

  /** Runs the health-check workflow: resolves when a worker on the task queue answered. */
  async healthCheck(message = 'hello', workflowId = `health-check-${Date.now()}`): Promise<HealthCheckResult> {
    return this.temporal.workflow.execute('healthCheck', { taskQueue: this.taskQueue, workflowId, args: [message] });
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }
}
