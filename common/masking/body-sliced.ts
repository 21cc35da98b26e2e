import type { CompiledProfile } from "./profile.js";
import { MaskSession } from "./session.js";
import { bodyResult, classifyBody, maskForm, type MaskBodyOptions, type MaskBodyResult } from "./body.js";
import { maskJson } from "./json.js";
import { maskText } from "./text.js";
import { SseMasker } from "./sse.js";
import { collect, findSpans, mergeSpans, worthScanning, type RuleSpan, type SpanFinder } from "./spans.js";
import { shapeOf } from "./detectors/text-shape.js";

/** Decides when a run of masking work has held the event loop long enough, and yields. */
export interface Slicer {
  /** True when the current slice is used up. */
  due(): boolean;
  /** Lets the event loop run (I/O, timers), then starts a new slice. */
  pause(): Promise<void>;
}

/** Slices of `sliceMs` of work, separated by a macrotask turn (setImmediate: I/O callbacks run in between). */
export function timeSlicer(sliceMs = DEFAULT_SLICE_MS): Slicer {
  let since = performance.now();
  return {
    due: () => performance.now() - since >= sliceMs,
    pause: () =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          since = performance.now();
          resolve();
        }),
      ),
  };
}

/** Work per slice: well under the 50 ms a request may hold the loop (one detector call is the unit). */
export const DEFAULT_SLICE_MS = 10;
/** Event-stream bodies are fed to the stream masker in pieces of about this many characters. */
const SSE_PIECE = 16 * 1024;

/**
 * maskBody, but the detector work is cut into slices with the event loop free in between, so
 * one large or hostile body does not stall every other exchange. Same result as maskBody
 * (sliced.test.ts): the body is classified as maskBody does, the texts the masker will ask
 * about are collected by a dry run (a scratch session, nothing recorded), their spans are
 * computed one detector call at a time, pausing when a slice is used up, and the masking run
 * then reads those spans instead of running the detectors. The unit of work that cannot be
 * cut is one detector over one string (each detector is linear: bench/masking.bench.ts
 * measures the worst); decoding and JSON.parse/stringify run natively in one piece.
 * Event streams are fed to the stream masker in pieces, pausing between them.
 */
export async function maskBodySliced(
  body: Uint8Array | string,
  contentType: string | undefined,
  profile: CompiledProfile,
  session: MaskSession,
  opts: MaskBodyOptions = {},
  slicer: Slicer = timeSlicer(),
): Promise<MaskBodyResult> {
  const kind = classifyBody(body, contentType, opts); // decode + JSON.parse: native, one piece
  if (slicer.due()) await slicer.pause();
  switch (kind.kind) {
    case "refused":
      return kind.result;
    case "empty":
      return bodyResult(kind, kind.text);
    case "event-stream":
      return bodyResult(kind, await maskEventStream(kind.text, profile, session, slicer));
    case "json": {
      const numbers = opts.numberSource ?? kind.text;
      const find = await precomputedSpans((f) => maskJson(kind.value, profile, new MaskSession(), f, numbers), profile, slicer);
      return bodyResult(kind, JSON.stringify(maskJson(kind.value, profile, session, find, numbers)));
    }
    case "form": {
      const find = await precomputedSpans((f) => maskForm(kind.text, profile, new MaskSession(), f), profile, slicer);
      return bodyResult(kind, maskForm(kind.text, profile, session, find));
    }
    case "text": {
      const find = await precomputedSpans((f) => maskText(kind.text, profile, new MaskSession(), f), profile, slicer);
      return bodyResult(kind, maskText(kind.text, profile, session, find));
    }
  }
}

const NONE: readonly RuleSpan[] = Object.freeze([]);

/**
 * Runs `dryRun` with a finder that records the texts asked about (and finds nothing), then
 * computes each distinct text's spans matcher by matcher, pausing whenever the slice is
 * used up. Returns a finder over those results (a text not seen falls back to findSpans).
 */
async function precomputedSpans(dryRun: (find: SpanFinder) => unknown, profile: CompiledProfile, slicer: Slicer): Promise<SpanFinder> {
  const texts = new Set<string>();
  dryRun((text) => {
    if (worthScanning(text, profile)) texts.add(text);
    return NONE;
  });
  if (slicer.due()) await slicer.pause();
  const memo = new Map<string, readonly RuleSpan[]>();
  for (const text of texts) {
    let all: RuleSpan[] | undefined;
    const shape = { ...shapeOf(text) }; // a copy: the pauses let other texts' shapes be computed
    for (const m of profile.matchers) {
      if (m.mayMatch !== undefined && !m.mayMatch(text, shape)) continue; // as findSpans
      if (slicer.due()) await slicer.pause();
      all = collect(all, m, m.find(text, shape));
    }
    memo.set(text, mergeSpans(all));
  }
  if (slicer.due()) await slicer.pause(); // the masking run (walk, render, serialise) gets a fresh slice
  return (text, p) => memo.get(text) ?? findSpans(text, p);
}

/** Feeds the stream masker pieces ending at event boundaries, pausing between them. */
async function maskEventStream(text: string, profile: CompiledProfile, session: MaskSession, slicer: Slicer): Promise<string> {
  const sse = new SseMasker(profile, session);
  let out = "";
  let at = 0;
  while (at < text.length) {
    const boundary = text.indexOf("\n\n", at + SSE_PIECE);
    const end = boundary < 0 ? text.length : boundary + 2;
    out += sse.push(text.slice(at, end));
    at = end;
    if (at < text.length && slicer.due()) await slicer.pause();
  }
  return out + sse.end();
}
