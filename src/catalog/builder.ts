import { PgshiftError } from '../errors/pgshift-error.js';
import type { CommentTarget } from './kinds/comment.js';
import { KINDS, render, type KindSpec } from './kinds/registry.js';
import type { AclItem, CatalogObject, ObjectKind, Phase, TableInfo } from './types.js';

export function phaseOf(kind: ObjectKind): Phase {
  return KINDS[kind].phase;
}

/**
 * A catalog object while it is being read: dependencies are collected in a set and resolved at the end; its SQL is
 * rendered from its typed fields when the catalog is complete (a later reader may still set a field, e.g. the index
 * reader marks a constraint's index as the REPLICA IDENTITY).
 */
export type ObjectDraft = KindSpec & {
  readonly address: string;
  readonly schema: string | null;
  readonly name: string;
  readonly table: { readonly schema: string; readonly name: string } | null;
  readonly owner: string | null;
  readonly acl: readonly AclItem[] | null;
  readonly deps: Set<string>;
};

export type DraftInput = KindSpec & {
  readonly address: string;
  readonly schema: string | null;
  readonly name: string;
  readonly deps?: Iterable<string>;
  readonly owner?: string | null;
  readonly acl?: readonly AclItem[] | null;
  readonly table?: { readonly schema: string; readonly name: string } | null;
};

/** The pg_catalog table an OID belongs to, as regclass prints it with an empty search_path (e.g. `pg_class`). */
export type CatalogClass =
  | 'pg_class'
  | 'pg_type'
  | 'pg_proc'
  | 'pg_namespace'
  | 'pg_constraint'
  | 'pg_rewrite'
  | 'pg_attrdef'
  | 'pg_trigger'
  | 'pg_policy'
  | 'pg_extension'
  | (string & {});

export interface Commentable {
  /** the commented object as the comment's address names it: `table s.t`, `constraint s.t.c`, `function s.f(integer)` */
  readonly target: string;
  /** what COMMENT ON names */
  readonly on: CommentTarget;
  /** the catalog object the comment needs */
  readonly dependsOn: string;
  readonly schema: string | null;
  readonly table: { readonly schema: string; readonly name: string } | null;
}

const key = (cls: CatalogClass, oid: number): string => `${cls}:${oid}`;

/**
 * Collects the objects of one catalog and remembers which catalog object each pg object (class + OID) belongs to,
 * so that pg_depend rows can be turned into dependencies between addresses.
 */
export class CatalogBuilder {
  readonly drafts = new Map<string, ObjectDraft>();
  readonly tables: TableInfo[] = [];
  private readonly owners = new Map<string, string>();
  private readonly members = new Map<string, string>();
  private readonly commentables = new Map<string, Commentable>();

  add(input: DraftInput): ObjectDraft {
    if (this.drafts.has(input.address)) {
      // names are unquoted in addresses: only dots in names can make two of them read alike (table `a` + constraint
      // `b.c` against table `a.b` + constraint `c`)
      throw new PgshiftError(
        'INTERNAL',
        `Two objects of the database have the same address "${input.address}" (names that contain dots read alike).`,
        {
          hint: 'Rename one of them, or leave its schema out of the migration.',
        },
      );
    }
    const draft = {
      kind: input.kind,
      spec: input.spec,
      address: input.address,
      schema: input.schema,
      name: input.name,
      table: input.table ?? null,
      owner: input.owner ?? null,
      acl: input.acl ?? null,
      deps: new Set(input.deps ?? []),
    } as ObjectDraft;
    this.drafts.set(draft.address, draft);
    return draft;
  }

  /** The pg object (cls, oid) is part of the catalog object at `addr` (the object itself, its row type, its default...). */
  own(cls: CatalogClass, oid: number | null | undefined, addr: string): void {
    if (oid) this.owners.set(key(cls, oid), addr);
  }

  /** (cls, oid) may carry a comment: `on` is what COMMENT ON names, e.g. the table s.t or the constraint c on s.t. */
  commentable(cls: CatalogClass, oid: number, target: Commentable): void {
    this.commentables.set(key(cls, oid), target);
  }

  commentableOf(cls: CatalogClass, oid: number): Commentable | undefined {
    return this.commentables.get(key(cls, oid));
  }

  ownerOf(cls: CatalogClass, oid: number | null | undefined): string | undefined {
    return oid ? this.owners.get(key(cls, oid)) : undefined;
  }

  /** Records that (cls, oid) belongs to an extension (pg_depend deptype 'e'). */
  markMember(cls: CatalogClass, oid: number, extensionAddress: string): void {
    this.members.set(key(cls, oid), extensionAddress);
  }

  isMember(cls: CatalogClass, oid: number): boolean {
    return this.members.has(key(cls, oid));
  }

  /** After the extensions are listed: extension members count as the extension for dependencies. */
  ownMembers(): void {
    for (const [k, ext] of this.members) if (!this.owners.has(k) && this.drafts.has(ext)) this.owners.set(k, ext);
  }

  /** Adds `from -> to` when both are catalog objects and differ. */
  depend(from: string | undefined, to: string | undefined): void {
    if (!from || !to || from === to) return;
    const d = this.drafts.get(from);
    if (d && this.drafts.has(to)) d.deps.add(to);
  }

  objects(): CatalogObject[] {
    const out: CatalogObject[] = [];
    for (const d of this.drafts.values()) {
      const dependsOn = [...d.deps].filter((a) => a !== d.address && this.drafts.has(a)).sort();
      const { createSql, definition } = render(d);
      out.push({
        kind: d.kind,
        address: d.address,
        schema: d.schema,
        name: d.name,
        table: d.table,
        phase: phaseOf(d.kind),
        spec: d.spec,
        createSql,
        definition,
        dependsOn,
        owner: d.owner,
        acl: d.acl,
      });
    }
    out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return out;
  }
}
