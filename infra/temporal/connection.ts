import type { ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/**
 * Where and how to reach Temporal, as its own tools read it: the profile of a client configuration file
 * (`TEMPORAL_CONFIG_FILE`, else `~/.config/temporalio/temporal.toml`; `TEMPORAL_PROFILE`, else `default`),
 * overridden by `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`,
 * `TEMPORAL_TLS_CLIENT_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_CLIENT_KEY_PATH`/`_DATA`,
 * `TEMPORAL_TLS_SERVER_CA_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_SERVER_NAME` and `TEMPORAL_GRPC_META_*`.
 * An API key turns TLS on unless `TEMPORAL_TLS=false` says otherwise.
 */
export interface TemporalConnectionSettings {
  /** Undefined: neither the environment nor a profile names a server (the process may start a local one). */
  readonly address: string | undefined;
  /** The namespace the client and the worker use; `default` when nothing names one. */
  readonly namespace: string;
  /** For `Connection.connect` (the client: workflows, schedules, visibility, health). */
  readonly client: ConnectionOptions;
  /** For `NativeConnection.connect` (the worker). */
  readonly worker: NativeConnectionOptions;
  /** What may be logged: no key, no certificate. */
  readonly summary: { address: string | undefined; namespace: string; tls: boolean; apiKey: boolean; profile: string };
}

/** Reads the settings from `env` (the process environment by default); an empty variable counts as unset. */
export function temporalConnectionSettings(env: Record<string, string | undefined> = process.env): TemporalConnectionSettings {
  const given = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: given });
  const { address, tls, apiKey, metadata } = connectionOptions;
  const options = {
    ...(address !== undefined ? { address } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(metadata !== undefined && Object.keys(metadata).length > 0 ? { metadata } : {}),
  };
  const resolvedNamespace = namespace ?? 'default';
  return {
    address,
    namespace: resolvedNamespace,
    client: options,
    worker: options,
    summary: {
      address,
      namespace: resolvedNamespace,
      tls: tls !== undefined && tls !== false,
      apiKey: apiKey !== undefined,
      profile: given['TEMPORAL_PROFILE'] ?? 'default',
    },
  };
}

/**
 * The settings for a server this process started itself (the local dev server): its address, plain
 * gRPC, no key, whatever a profile said about another server.
 */
export function localServerSettings(address: string, namespace: string): TemporalConnectionSettings {
  return {
    address,
    namespace,
    client: { address },
    worker: { address },
    summary: { address, namespace, tls: false, apiKey: false, profile: 'local dev server' },
  };
}
