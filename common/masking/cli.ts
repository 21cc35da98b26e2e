/**
 * Masks JSON read from stdin with the default profile and writes it to stdout (non-JSON
 * input is masked as text). Used to score the engine against the masking corpus:
 *   node ../shared/corpora/masking/score.mjs --cmd "npx tsx common/masking/cli.ts"
 */
import { MaskSession } from "./session.js";
import { defaultProfile } from "./profile.js";
import { maskBody } from "./body.js";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const result = maskBody(Buffer.concat(chunks), "application/json", defaultProfile(), new MaskSession(), { onInvalidJson: "text" });
process.stdout.write(result.ok ? result.body : "");
