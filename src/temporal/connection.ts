import { readFileSync } from 'node:fs';

/** How to reach Temporal, from the settings Temporal's own tools read. */
export type TemporalSettings = {
  address: string;
  namespace: string;
  /** Client certificate and key for mTLS (Temporal Cloud or a self-hosted cluster with TLS). */
  tls?: { clientCertPair: { crt: Buffer; key: Buffer }; serverNameOverride?: string } | true;
  /** A Temporal Cloud API key; implies TLS. */
  apiKey?: string;
};

/**
 * Reads TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default "default"),
 * TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY (file paths) and TEMPORAL_API_KEY.
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const settings: TemporalSettings = {
    address: env.TEMPORAL_ADDRESS || 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
  };
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (Boolean(cert) !== Boolean(key)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  if (cert && key) {
    settings.tls = {
      clientCertPair: { crt: readFileSync(cert), key: readFileSync(key) },
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
    };
  }
  if (env.TEMPORAL_API_KEY) {
    settings.apiKey = env.TEMPORAL_API_KEY;
    settings.tls ??= true;
  }
  return settings;
}

/** Options shared by Connection.connect (client) and NativeConnection.connect (worker). */
export function connectionOptions(settings: TemporalSettings) {
  return { address: settings.address, tls: settings.tls, apiKey: settings.apiKey };
}
