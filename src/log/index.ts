export { createLogger, logger, setLogger, type LogFormat, type LogLevel, type LoggerOptions } from './logger.js';
export { clearSecrets, redactUrl, registerSecret, scrub, scrubDeep } from './redact.js';
