/**
 * The masking engine: compile a profile once, then mask JSON values, text, request bodies
 * and SSE streams with a per-exchange MaskSession. Plain functions, no I/O.
 */
export type { Detector, MaskStyle, Span } from "./types.js";
export {
  compileProfile,
  validateProfile,
  defaultProfile,
  DEFAULT_RULES,
  MAX_RULES,
  MaskingProfileError,
  type CompiledProfile,
  type CompiledRule,
  type MaskingRuleSpec,
} from "./profile.js";
export { MaskSession } from "./session.js";
export { maskJson } from "./json.js";
export { maskText } from "./text.js";
export { maskBody, type MaskBodyOptions, type MaskBodyResult } from "./body.js";
export { maskBodySliced, timeSlicer, type Slicer } from "./body-sliced.js";
export { SseMasker, type SseMaskerOptions } from "./sse.js";
export { SseEventTooLargeError } from "./sse-parser.js";
export { HoldBack } from "./hold-back.js";
export { BUILTIN_DETECTORS } from "./detectors/index.js";
