export { createLogger, logger, setLogger, type LogFormat, type LogLevel, type LoggerOptions } from './logger.js';
export { clearSecrets, maskQuoted, redactUrl, registerSecret, scrub, scrubDeep } from './redact.js';
