import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';

/** How to reach Temporal, from the settings Temporal's own tools read. */
export type TemporalSettings = {
  address: string;
  namespace: string;
  /** true: TLS with the system's roots; or a client certificate and key (mTLS), a server CA, a server name. */
  tls?: TLSConfig | boolean;
  /** A Temporal Cloud API key; implies TLS. */
  apiKey?: string;
  /** gRPC headers for every call (a profile's grpc_meta, TEMPORAL_GRPC_META_*). */
  metadata?: Record<string, string>;
};

/** The names README gave the client certificate and key before Temporal's environment configuration named them. */
const OLDER_NAMES = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
} as const;

/**
 * Temporal's environment configuration, read as its CLI and SDKs read it (@temporalio/envconfig): the profile
 * TEMPORAL_PROFILE names (else `default`) of the TOML file TEMPORAL_CONFIG_FILE names (else temporal.toml in the
 * user's configuration folder, ~/.config/temporalio/ on Linux), with the variables over it: TEMPORAL_ADDRESS
 * (default localhost:7233), TEMPORAL_NAMESPACE (default "default"), TEMPORAL_API_KEY, TEMPORAL_TLS and
 * TEMPORAL_TLS_* (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY stand for TEMPORAL_TLS_CLIENT_CERT_PATH and
 * TEMPORAL_TLS_CLIENT_KEY_PATH), TEMPORAL_GRPC_META_*. An empty variable counts as unset.
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const vars = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
  for (const [older, name] of Object.entries(OLDER_NAMES)) {
    if (vars[older] && !vars[name]) vars[name] = vars[older];
  }
  const file = vars.TEMPORAL_CONFIG_FILE;
  // Left to the loader, a file that is not there reads as an empty one, and the settings meant go unnoticed.
  if (file && !existsSync(file)) throw new Error(`Temporal settings: the config file ${file} does not exist`);
  const profile = readable(() => loadClientConfigProfile({ overrideEnvVars: vars }));
  if (Boolean(profile.tls?.clientCert) !== Boolean(profile.tls?.clientKey)) {
    throw new Error('Temporal settings: a TLS client certificate and its key are given together or not at all');
  }
  const { tls } = readable(() => toClientOptions(profile).connectionOptions);
  return {
    address: profile.address ?? 'localhost:7233',
    namespace: profile.namespace ?? 'default',
    ...(tls !== undefined && tls !== null ? { tls } : {}),
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { metadata: profile.grpcMeta } : {}),
  };
}

/** Runs a step of the loader with its errors said as Temporal settings errors. */
function readable<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    // The TOML parser quotes the lines around an error, which may hold an API key: only where it is goes on.
    const at = err as { line?: unknown; column?: unknown; message?: unknown };
    if (typeof at.line === 'number') {
      throw new Error(
        `Temporal settings: the config file is not valid TOML (line ${at.line}, column ${String(at.column)})`,
      );
    }
    throw new Error(`Temporal settings: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Options shared by Connection.connect (client) and NativeConnection.connect (worker). */
export function connectionOptions(settings: TemporalSettings) {
  return { address: settings.address, tls: settings.tls, apiKey: settings.apiKey, metadata: settings.metadata };
}
