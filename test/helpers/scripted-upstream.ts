import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A plain HTTP server standing in for LangGraph, answering with `handle` (a thrown error drops the connection). */
export interface ScriptedUpstream {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a scripted upstream on a free loopback port. */
export async function startScriptedUpstream(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<ScriptedUpstream> {
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
