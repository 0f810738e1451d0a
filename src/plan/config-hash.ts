import type { Config } from '../config/types.js';
import { redactUrl } from '../log/redact.js';
import { canonicalJson, sha256 } from '../state/hash.js';

/** A hash of everything in the config that shapes a plan; secrets are redacted first, the file path left out. */
export function configHash(config: Config): string {
  const { file: _file, ...rest } = config;
  const safe = {
    ...rest,
    source: { ...config.source, url: redactUrl(config.source.url) },
    target: { ...config.target, url: redactUrl(config.target.url) },
    cutover: {
      ...config.cutover,
      switch: config.cutover.switch
        ? { ...config.cutover.switch, value: redactUrl(config.cutover.switch.value) }
        : undefined,
    },
  };
  return sha256(canonicalJson(safe)).slice(0, 16);
}
