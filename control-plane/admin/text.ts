/** Checks of free-text fields shared by the admin services. */

/** Longest description or message accepted (they end up in snapshots and listings). */
export const MAX_TEXT_LENGTH = 1000;

/** Problems of an optional free-text field: a string of bounded length, no control characters but newlines. */
export function textProblems(what: string, value: string | null | undefined, max = MAX_TEXT_LENGTH): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== "string" || value.length > max) return [`${what}: must be at most ${max} characters`];
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b-\u001f\u007f]/.test(value) ? [`${what}: must not contain control characters`] : [];
}
