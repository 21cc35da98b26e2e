import type { RequestContext } from "../pipeline/context.js";
import type { AnswerPart, AnswerRefusal } from "../pipeline/answer.js";

const REPLACEMENT = "[REDACTED:upstream-credential]";

/** Replaces the upstream credential wherever it shows up in text going to the caller. */
export function scrubCredential(text: string, credential: string): string {
  return credential.length >= 8 && text.includes(credential) ? text.split(credential).join(REPLACEMENT) : text;
}

/**
 * Response stage `scrub`: the connection's credential never reaches the caller, in a body, a
 * streamed chunk or a recorded event. An untouched body is searched as bytes and only decoded
 * when it holds the credential. (Bodies relayed uninspected by the profile's choice are binary:
 * left as they are.)
 */
export function scrubAnswer(ctx: RequestContext, part: AnswerPart): AnswerRefusal | undefined {
  const credential = ctx.connection!.credential;
  if (credential.length < 8) return undefined;
  if (part.kind === "sse") {
    part.out = scrubCredential(part.out, credential);
    for (const e of part.events) e.data = scrubCredential(e.data, credential);
    return undefined;
  }
  if (part.uninspectable) return undefined;
  if (typeof part.out !== "string" && !part.out.includes(credential)) return undefined;
  part.out = scrubCredential(part.outText(), credential);
  return undefined;
}
