import type { SessionSettings } from './connect.js';
import type { ConnectionConfig, EndpointConfig } from './endpoint-config.js';
import { resolveEndpoint, type ResolvedEndpoint } from './endpoint.js';

/** The session settings of a config's `connection:` section. */
export function sessionSettings(config: { readonly connection: ConnectionConfig }): SessionSettings {
  return {
    connectTimeoutMs: config.connection.connectTimeoutMs,
    lockTimeoutMs: config.connection.lockTimeoutMs,
    retry: config.connection.retry,
  };
}

export interface Endpoints {
  readonly source: ResolvedEndpoint;
  readonly target: ResolvedEndpoint;
}

/** Both endpoints of a config, resolved (TLS options, display URL). */
export function endpoints(config: { readonly source: EndpointConfig; readonly target: EndpointConfig }): Endpoints {
  return { source: resolveEndpoint(config.source), target: resolveEndpoint(config.target) };
}
