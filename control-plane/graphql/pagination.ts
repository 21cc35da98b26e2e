/**
 * Relay-style connections over the services' keyset pages: opaque cursors (the row id,
 * base64url with a version tag), `first` bounded by MAX_PAGE_SIZE.
 */
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page, type PageRequest } from "../admin/page.js";
import { badInput } from "../errors.js";

/** Arguments of every list field. */
export interface ConnectionArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}

/** A Relay connection. */
export interface GraphqlConnection<T> {
  readonly edges: ReadonlyArray<{ readonly cursor: string; readonly node: T }>;
  readonly pageInfo: { readonly endCursor: string | null; readonly hasNextPage: boolean };
}

const TAG = "c1:";

/** The cursor of a row id. */
export function encodeCursor(id: string): string {
  return Buffer.from(TAG + id, "utf8").toString("base64url");
}

/** The row id of a cursor; BAD_USER_INPUT for anything this API did not hand out. */
export function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  if (!text.startsWith(TAG) || text.length === TAG.length) throw badInput(["after: not a cursor returned by this API"]);
  return text.slice(TAG.length);
}

/** Validated page request from list arguments. */
export function pageRequest(args: ConnectionArgs): PageRequest {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput([`first: must be from 1 to ${MAX_PAGE_SIZE}`]);
  return { first, after: args.after ? decodeCursor(args.after) : undefined };
}

/** A service page as a connection. */
export function toConnection<T extends { readonly id: string }>(page: Page<T>): GraphqlConnection<T> {
  const edges = page.nodes.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return { edges, pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: page.hasNextPage } };
}

/** A page of an in-memory list sorted by id (e.g. the proxies this control plane knows). */
export function pageOfList<T extends { readonly id: string }>(items: readonly T[], req: PageRequest): Page<T> {
  const rest = req.after === undefined ? items : items.filter((i) => i.id > req.after!);
  return { nodes: rest.slice(0, req.first), hasNextPage: rest.length > req.first };
}
