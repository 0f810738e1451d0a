export { configError, loadConfig, parseConfig, readConfigText, type ParseResult } from './load.js';
export { configErrorCode, formatProblem, type ConfigProblem, type ConfigProblemCode } from './problems.js';
export { parseDuration, formatDuration } from './duration.js';
export { SCHEMA_PATH } from './schema.js';
export type { Config, EndpointConfig, Provider, Side, SslMode, TableOverride } from './types.js';
