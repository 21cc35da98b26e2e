import type { Detector } from "../types.js";
import { scan } from "./scan.js";
import { LITERAL } from "./text-shape.js";

// sk-ant-<kind><2-digit version>-<base64url body>, e.g. sk-ant-api03-…, sk-ant-admin01-….
const KEY = /(?<![A-Za-z0-9_-])sk-ant-[a-z]{2,10}\d{2}-[A-Za-z0-9_-]{80,120}(?![A-Za-z0-9_-])/g;

/** Anthropic API and admin keys (an LLM gateway's most likely upstream credential after OpenAI's). */
export const anthropicKey: Detector = {
  name: "anthropic_key",
  mayMatch: (text, shape) => (shape.literals & LITERAL.skDash) !== 0 && text.includes("sk-ant-"),
  find: (text) => scan(KEY, text),
};
