/**
 * How an endpoint and its sessions are configured. The config (src/config/types.ts) embeds these types, so the
 * connection layer needs nothing from src/config.
 */

export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';
export type Provider = 'postgres' | 'supabase';
export type Side = 'source' | 'target';

export interface EndpointConfig {
  readonly side: Side;
  /** The URL as written after interpolation. Holds the password: never print it, use redactUrl(). */
  readonly url: string;
  readonly provider: Provider;
  /** Explicit TLS mode from `ssl.mode` (the URL's sslmode is merged in by resolveEndpoint). */
  readonly sslMode: SslMode | undefined;
  /** Absolute path of the CA bundle, resolved against the config file's folder. */
  readonly caFile: string | undefined;
  readonly extensionSchema: string | undefined;
}

/** The `connection:` section: timeouts and retries of every session pgshift opens. */
export interface ConnectionConfig {
  readonly connectTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly retry: { readonly attempts: number; readonly maxWaitMs: number };
}
