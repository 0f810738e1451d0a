/** The normalised, validated configuration. Built only by loadConfig(); every default is filled. */

import type { ConnectionConfig, EndpointConfig } from '../db/endpoint-config.js';

export type { ConnectionConfig, EndpointConfig, Provider, Side, SslMode } from '../db/endpoint-config.js';

export interface TableOverride {
  readonly batchSize?: number;
  readonly key?: readonly string[];
  readonly updatedAtColumn?: string;
}

export interface Config {
  /** Absolute path of the file this came from (undefined for configs built in code). */
  readonly file: string | undefined;
  readonly version: 1;
  readonly name: string;
  readonly source: EndpointConfig;
  readonly target: EndpointConfig;
  readonly tables: {
    /** False when the file had no `tables:` (every table of every non-system schema is in scope). */
    readonly explicit: boolean;
    readonly include: readonly string[];
    readonly exclude: readonly string[];
    readonly overrides: Readonly<Record<string, TableOverride>>;
  };
  /** Source schema -> target schema (schemas.map). */
  readonly schemas: { readonly map: Readonly<Record<string, string>> };
  /** Source role -> target role for grants, and the target roles pgshift creates (NOLOGIN, no password). */
  readonly roles: {
    readonly map: Readonly<Record<string, string>>;
    readonly create: readonly string[];
    readonly owners: 'connecting' | 'mapped';
  };
  readonly copy: {
    readonly batchSize: number;
    /** copy.batch_size was set in the file: batches keep that size (no larger batches for a key in no heap order). */
    readonly batchSizeExplicit?: boolean;
    readonly parallel: number;
    readonly data: boolean;
    /** Keyed tables whose estimated size passes this many bytes are copied as key ranges (parts); null: never. */
    readonly splitTablesLargerThan: number | null;
    /** How long a claimed copy unit stays its claimer's without a heartbeat (ms): then anyone may take it. */
    readonly leaseMs: number;
  };
  readonly verify: {
    readonly rowCounts: boolean;
    readonly sample: {
      readonly percent: number;
      readonly minRows: number;
      readonly maxRows: number;
      readonly seed: number;
    };
    readonly checksums: 'none' | 'sampled' | 'full';
    /** Column set on every write: tells "changed since the copy" from "copied wrong". */
    readonly updatedAtColumn: string | undefined;
  };
  readonly cutover: {
    readonly mode: 'manual' | 'auto';
    /** auto: stream when the source allows it, else freeze (the plan resolves it and says why). */
    readonly strategy: 'auto' | 'stream' | 'freeze';
    readonly stream: {
      /** pgshift sets REPLICA IDENTITY FULL on in-scope source tables without a usable identity. */
      readonly replicaIdentityFull: boolean;
      /** WAL the slot may hold back before plan and status warn, in bytes. */
      readonly maxSlotRetainedBytes: number;
    };
    readonly requireVerified: boolean;
    readonly maxWriteFreezeMs: number;
    readonly rollbackWindowMs: number;
    /** How long in-flight write transactions on the source may take to finish when the freeze starts. */
    readonly drainTimeoutMs: number;
    readonly onDrainTimeout: 'abort' | 'terminate';
    /** The verification inside the freeze (after the final sync). */
    readonly verify: 'sampled' | 'full';
    readonly switch:
      | { readonly envFile: string; readonly variable: string; readonly value: string; readonly command: string }
      | undefined;
  };
  readonly security: {
    readonly rls: 'enable' | 'warn' | 'off';
    readonly acknowledgeRlsOff: boolean;
    readonly exposedSchemas: readonly string[];
  };
  readonly connection: ConnectionConfig;
}
