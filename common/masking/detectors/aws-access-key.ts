import type { Detector, Span } from "../types.js";
import { scan } from "./scan.js";

// IAM identifier prefixes (access keys AKIA/ASIA, and the other unique-id families that
// peers flag) followed by 16 upper-case alphanumerics, as a whole token.
const KEY_ID = /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)([A-Z0-9]{16})(?![A-Za-z0-9])/g;

/** A body of one repeated character (`AKIAXXXXXXXXXXXXXXXX`) is an already-redacted id. */
function accept(m: RegExpExecArray): Span | null {
  const body = m[1]!;
  return body.split(body[0]!).length === body.length + 1 ? null : { start: m.index, end: m.index + m[0].length };
}

/**
 * AWS access key ids (`AKIA…`, `ASIA…`). Documentation-looking ids (`AKIAIOSFODNN7EXAMPLE`)
 * are masked too: on a data-egress gateway anything with the exact shape of a live
 * credential leaves masked, since nothing proves it is not one.
 */
export const awsAccessKey: Detector = {
  name: "aws_access_key",
  mayMatch: (_text, shape) => shape.alnumRun >= 20, // the whole id is one alphanumeric token
  find: (text) => scan(KEY_ID, text, accept),
};
