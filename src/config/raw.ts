/** The shape of migration.yaml after schema validation filled its defaults (snake_case, as written). */
export interface RawSsl {
  mode?: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  ca_file?: string;
}
export interface RawConfig {
  version: 1;
  name: string;
  source: { url: string; ssl?: RawSsl };
  target: { url: string; provider: 'postgres' | 'supabase'; ssl?: RawSsl; extension_schema?: string };
  tables: {
    include: string[];
    exclude: string[];
    overrides: Record<string, { batch_size?: number; key?: string[]; updated_at_column?: string }>;
  };
  schemas: { map: Record<string, string> };
  roles: { map: Record<string, string>; create: string[]; owners: 'connecting' | 'mapped' };
  copy: { batch_size: number; parallel: number; data: boolean; split_tables_larger_than: string; lease: string };
  verify: {
    row_counts: boolean;
    sample: { percent: number; min_rows: number; max_rows: number; seed: number };
    checksums: 'none' | 'sampled' | 'full';
    updated_at_column?: string;
  };
  cutover: {
    mode: 'manual' | 'auto';
    strategy?: 'stream' | 'freeze';
    stream: { replica_identity_full: boolean; max_slot_retained: string };
    require_verified: boolean;
    max_write_freeze: string;
    rollback_window: string;
    drain_timeout: string;
    on_drain_timeout: 'abort' | 'terminate';
    verify: 'sampled' | 'full';
    switch?: { env_file: string; variable: string; value: string; command: string };
  };
  security: { rls: 'enable' | 'warn' | 'off'; acknowledge_rls_off: boolean; exposed_schemas?: string[] };
  connection: { connect_timeout: string; lock_timeout: string; retry: { attempts: number; max_wait: string } };
}
