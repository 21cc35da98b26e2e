/**
 * `whoami`: reports what the upstream knows about the caller, so end-to-end
 * tests can prove which identity the gateway asserted and which `x-*` headers
 * reached the run (the server copies every `x-*` header except `x-api-key`,
 * `x-tenant-id`, `x-service-key` into `config.configurable`).
 */
import { entrypoint, type LangGraphRunnableConfig } from "@langchain/langgraph";

/** Output of the `whoami` graph. */
export interface WhoamiOutput {
  /** `langgraph_auth_user_id` set by the auth handler. */
  identity: string | null;
  /** The full `langgraph_auth_user` object. */
  user: unknown;
  /** Every `x-*` header that the server copied into the run config. */
  headers: Record<string, string>;
}

/** The compiled `whoami` graph referenced by `langgraph.json`. */
export const graph = entrypoint(
  { name: "whoami" },
  async (_input: unknown, config: LangGraphRunnableConfig): Promise<WhoamiOutput> => {
    const configurable: Record<string, unknown> = config.configurable ?? {};
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(configurable)) {
      if (key.startsWith("x-") && typeof value === "string") headers[key] = value;
    }
    const identity = configurable["langgraph_auth_user_id"];
    return {
      identity: typeof identity === "string" ? identity : null,
      user: configurable["langgraph_auth_user"] ?? null,
      headers,
    };
  },
);
