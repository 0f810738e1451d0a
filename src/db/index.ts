export {
  clientConfig,
  connectClient,
  DEFAULT_SESSION,
  sessionSetupSql,
  withClient,
  withTransaction,
  type SessionSettings,
} from './connect.js';
export { isLoopbackHost, resolveEndpoint, tlsOptions, type ResolvedEndpoint } from './endpoint.js';
export { qualified, quoteIdent, quoteLiteral } from './ident.js';
export { isTransient, withRetry, type RetryPolicy } from './retry.js';
