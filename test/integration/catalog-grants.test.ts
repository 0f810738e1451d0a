/**
 * Privileges are read as typed fields (aclexplode: grantee and privilege names), never parsed from aclitem text:
 * a hostile role name, PUBLIC and grant options come through as they are, and the mapping grants from them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/types.js';
import { parseConfig } from '../../src/config/load.js';
import { quoteIdent } from '../../src/db/ident.js';
import { mapForTarget } from '../../src/mapping/target-map.js';
import { freshDatabases, testServers, withPg, type FreshDatabases } from '../support/databases.js';

const ROLE = `we"ird role ${process.pid}`;

describe('catalog privileges', () => {
  let dbs: FreshDatabases;
  let source: Catalog;
  beforeAll(async () => {
    dbs = await freshDatabases('catalog_grants');
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query(`CREATE ROLE ${quoteIdent(ROLE)} NOLOGIN`);
      await c.query(
        'CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY); CREATE FUNCTION app.f(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a $$',
      );
      await c.query(
        `GRANT SELECT, UPDATE ON app.t TO ${quoteIdent(ROLE)} WITH GRANT OPTION; GRANT INSERT ON app.t TO PUBLIC; GRANT USAGE ON SCHEMA app TO ${quoteIdent(ROLE)}`,
      );
      await c.query(
        `REVOKE EXECUTE ON FUNCTION app.f(integer) FROM PUBLIC; GRANT EXECUTE ON FUNCTION app.f(integer) TO ${quoteIdent(ROLE)}`,
      );
    });
    source = await withPg(dbs.sourceUrl, (c) => introspect(c));
  });
  afterAll(async () => {
    await dbs?.drop();
    await withPg(testServers().source.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(ROLE)}`));
  });

  it('reads grantee and privileges of each ACL entry, PUBLIC as an empty grantee', () => {
    const acl = source.objects.find((o) => o.address === 'table app.t')?.acl ?? [];
    expect(acl.find((a) => a.grantee === ROLE)?.privileges).toEqual(['SELECT', 'UPDATE']);
    expect(acl.find((a) => a.grantee === '')?.privileges).toEqual(['INSERT']);
    expect(source.objects.find((o) => o.address === 'schema app')?.acl).toContainEqual({
      grantee: ROLE,
      privileges: ['USAGE'],
    });
  });

  it('grants to the role roles.map names, routines by their argument types', () => {
    const r = parseConfig(
      `version: 1\nname: t\nsource:\n  url: postgres://a:pw@127.0.0.1:5432/a\ntarget:\n  url: postgres://b:pw@127.0.0.1:5433/b\nroles:\n  map: { ${JSON.stringify(ROLE)}: app_reader }\n  create: [app_reader]\n`,
      'migration.yaml',
      {},
    );
    if (!r.config) throw new Error(JSON.stringify(r.problems));
    const target: Catalog = {
      serverVersionNum: 170000,
      database: 'b',
      fingerprint: '',
      objects: [],
      tables: [],
      roles: ['postgres'],
    };
    const by = new Map(mapForTarget(r.config, source, target).catalog.objects.map((o) => [o.address, o]));
    expect(by.get('grant table app.t to app_reader')?.createSql).toEqual([
      'GRANT SELECT, UPDATE ON TABLE "app"."t" TO "app_reader"',
    ]);
    expect(by.get('grant function app.f(integer) to app_reader')?.createSql).toEqual([
      'GRANT EXECUTE ON ROUTINE "app"."f"(integer) TO "app_reader"',
    ]);
  });
});
