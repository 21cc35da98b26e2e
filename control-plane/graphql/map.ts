/** Small mappings between service values and GraphQL shapes, shared by the resolvers. */
import type { Committed } from "../admin/commit.js";

/** A 64-bit version as the API shows it (GraphQL Int is 32-bit): a decimal string. */
export function versionString(v: bigint | null | undefined): string | null {
  return v === null || v === undefined ? null : v.toString();
}

/** A mutation payload: `{ [key]: value, snapshotVersion }`. */
export function payload<K extends string, T>(key: K, committed: Committed<T>): Record<K, T> & { snapshotVersion: string | null } {
  return { [key]: committed.value, snapshotVersion: versionString(committed.snapshotVersion) } as Record<K, T> & { snapshotVersion: string | null };
}

/** A delete payload. */
export function deleted(committed: Committed<string>): { id: string; snapshotVersion: string | null } {
  return { id: committed.value, snapshotVersion: versionString(committed.snapshotVersion) };
}

/** A map as a list of pairs named `keyName` / `valueName` (GraphQL has no map type). */
export function pairs<KN extends string, VN extends string, V>(map: Readonly<Record<string, V>>, keyName: KN, valueName: VN): Array<Record<KN, string> & Record<VN, V>> {
  return Object.entries(map).map(([k, v]) => ({ [keyName]: k, [valueName]: v }) as Record<KN, string> & Record<VN, V>);
}

/** The reverse of {@link pairs}; null/undefined pass through (absent vs. reset). */
export function unpairs<V>(list: ReadonlyArray<Record<string, unknown>> | null | undefined, keyName: string, valueName: string): Record<string, V> | null | undefined {
  if (list === null || list === undefined) return list;
  return Object.fromEntries(list.map((e) => [String(e[keyName]), e[valueName] as V]));
}
