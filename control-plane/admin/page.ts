/**
 * Keyset pagination over UUIDv7 ids (time-ordered, unique): a page is "the next `first`
 * rows after this id" in id order, so pages stay stable while rows are added and a deleted
 * cursor row does not break the next page (unlike Prisma's `cursor`, which needs the row).
 */

/** Largest page any list returns. */
export const MAX_PAGE_SIZE = 100;
/** Page size when the caller does not say. */
export const DEFAULT_PAGE_SIZE = 50;

/** A page request, already validated by the API layer (1 ≤ first ≤ MAX_PAGE_SIZE). */
export interface PageRequest {
  readonly first: number;
  /** Id of the last row of the previous page. */
  readonly after?: string | undefined;
}

/** One page of results. */
export interface Page<T> {
  readonly nodes: readonly T[];
  readonly hasNextPage: boolean;
}

/** Oldest first (configuration) or newest first (logs). */
export type PageOrder = "asc" | "desc";

/** The Prisma arguments of a page: an id condition to AND with the filter, order, take. */
export function pageArgs(req: PageRequest, order: PageOrder = "asc") {
  const idAfter = req.after === undefined ? {} : { id: order === "asc" ? { gt: req.after } : { lt: req.after } };
  // One row more than asked tells whether there is a next page without a count query.
  return { idAfter, orderBy: { id: order }, take: req.first + 1 } as const;
}

/** Cuts the extra row off and maps the rest. */
export function toPage<R, T>(rows: readonly R[], req: PageRequest, map: (row: R) => T): Page<T> {
  return { nodes: rows.slice(0, req.first).map(map), hasNextPage: rows.length > req.first };
}
