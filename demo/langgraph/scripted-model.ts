/**
 * A chat model that "answers" with a fixed script of chunks: no LLM, no network.
 *
 * Core's `FakeStreamingChatModel` is not used because its non-streaming path
 * returns a different text than its chunks and it drops `usage_metadata`.
 * Here streaming and `invoke` agree: `invoke` is the concatenation of the
 * streamed chunks. When the run streams `messages`, LangGraph's callback
 * handler makes `invoke` stream, so each chunk becomes one SSE event.
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessageChunk, type BaseMessage, type UsageMetadata } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";

/** Options of {@link ScriptedChatModel}. */
export interface ScriptedChatModelFields extends BaseChatModelParams {
  /** Text chunks, streamed in this order. */
  chunks: readonly string[];
  /** Pause before each chunk, in milliseconds (default 0). */
  delayMs?: number;
  /** Token usage, attached to the last chunk as providers do. */
  usage?: UsageMetadata;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fake chat model streaming a fixed list of chunks (see module doc). */
export class ScriptedChatModel extends BaseChatModel {
  readonly chunks: readonly string[];
  readonly delayMs: number;
  readonly usage: UsageMetadata | undefined;

  constructor(fields: ScriptedChatModelFields) {
    super(fields);
    this.chunks = fields.chunks;
    this.delayMs = fields.delayMs ?? 0;
    this.usage = fields.usage;
  }

  _llmType(): string {
    return "agentgate-scripted";
  }

  override async *_streamResponseChunks(
    _messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    for (const [i, text] of this.chunks.entries()) {
      if (options.signal?.aborted) break;
      if (this.delayMs > 0) await sleep(this.delayMs);
      const last = i === this.chunks.length - 1;
      const message = new AIMessageChunk({
        content: text,
        ...(last && this.usage ? { usage_metadata: this.usage } : {}),
      });
      const chunk = new ChatGenerationChunk({ message, text });
      yield chunk;
      await runManager?.handleLLMNewToken(text, undefined, undefined, undefined, undefined, { chunk });
    }
  }

  async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    _runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    let merged: ChatGenerationChunk | undefined;
    // No run manager: this path runs only when nobody listens to tokens.
    for await (const chunk of this._streamResponseChunks(messages, options)) {
      merged = merged === undefined ? chunk : merged.concat(chunk);
    }
    const message = merged?.message ?? new AIMessageChunk({ content: "" });
    return { generations: [{ text: merged?.text ?? "", message }] };
  }
}
