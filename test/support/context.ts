/**
 * What the global setup (test/support/global-setup.ts) hands to test files through vitest's
 * provide/inject. Read it with `testServers()` from ./databases.js, or `inject('pgSource')`.
 */

/** Where the shared source/target servers came from. */
export type PgBackend = 'env' | 'docker' | 'embedded';

export interface PgServerInfo {
  /** superuser URL of the server's maintenance database */
  adminUrl: string;
  /** server major version (15, 17, ...) */
  major: number;
  /** server_version_num, e.g. 150018 */
  versionNum: number;
  /**
   * The same server as the OTHER server reaches it (for CREATE SUBSCRIPTION ... CONNECTION on
   * the target). Only set when it differs from adminUrl (docker: the container network alias).
   */
  adminUrlFromTarget?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgSource: PgServerInfo;
    pgTarget: PgServerInfo;
    pgBackend: PgBackend;
  }
}
