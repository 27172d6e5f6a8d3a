/**
 * Registers neon-promote's search attributes (NeonProjectId, NeonPhase, NeonOutcome) on a self-hosted Temporal
 * cluster, once: the compose file runs it before the workers start, since a run that sets an unknown attribute fails
 * its workflow task. The dev server gets them as start-dev flags; Temporal Cloud namespaces get them in the Cloud UI
 * or with tcld. Settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_* / TEMPORAL_API_KEY.
 */
import { Connection } from '@temporalio/client';
import { connectionOptions, temporalSettingsFromEnv } from '../../src/temporal/connection';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: every attribute here is a Keyword. */
const KEYWORD = 2;

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = searchAttributeKeys.map((k) => k.name).filter((name) => !(name in customAttributes));
  if (missing.length) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
    });
  }
  return missing;
}

async function main(): Promise<void> {
  const settings = temporalSettingsFromEnv();
  // The cluster may still be starting (compose starts everything at once): retry for a few minutes.
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: 5000 });
      try {
        const added = await ensureSearchAttributes(connection, settings.namespace);
        console.log(added.length ? `registered search attributes ${added.join(', ')}` : 'search attributes present');
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw err;
      console.log(`waiting for Temporal at ${settings.address}: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
