import { connect, type AddressInfo } from "node:net";
import type { ProxyServices, ProxyState } from "../pipeline/context.js";
import { createProxyServer, type ProxyHttpOptions } from "./server.js";

/**
 * Request smuggling through an unread body (#10 item 7): every answer the proxy sends
 * before it has read the request body must close the connection, so the unread bytes
 * can never be parsed as the next request. Attacked with a raw socket: the head announces
 * a body, part of it follows, and the rest of the "body" is a second request; the proxy
 * must answer once with `Connection: close` and close the socket, never answering the
 * smuggled request. The whole table of pre-body answers, plus a control: an answer after
 * the body was read keeps the connection.
 */
const SMUGGLED = "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

interface RawAnswer {
  text: string;
  closedByServer: boolean;
}

/**
 * Sends `head` + `bodyPart` on one socket. Resolves when the server closes it, or as soon as
 * a whole answer arrived WITHOUT `connection: close` (a keep-alive answer: no need to wait).
 */
function raw(port: number, head: string, bodyPart: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text);
      if (headEnd < 0 || !length || /\r\nconnection: close\r\n/i.test(text.slice(0, headEnd + 2))) return;
      if (text.length >= headEnd + 4 + Number(length[1])) {
        socket.destroy();
        resolve({ text, closedByServer: false });
      }
    });
    socket.on("end", () => resolve({ text, closedByServer: true }));
    socket.on("error", reject);
    socket.write(head + bodyPart);
  });
}

const post = (path: string, length: number, extra = "") => `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;

async function withServer<T>(overrides: Partial<ProxyHttpOptions>, body: (port: number) => Promise<T>): Promise<T> {
  const server = createProxyServer({
    services: { maxBodyBytes: 1024 } as ProxyServices,
    state: () => undefined,
    record: async () => {},
    health: (path) => (path === "/healthz" ? { status: 200, contentType: "text/plain", body: "ok" } : undefined),
    ...overrides,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await body((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const CASES: ReadonlyArray<{ name: string; status: number; head: string; overrides?: Partial<ProxyHttpOptions> }> = [
  { name: "no policy snapshot yet (503)", status: 503, head: post("/runs/wait", 5000) },
  { name: "admission refused: spool full (503)", status: 503, head: post("/runs/wait", 5000), overrides: { admit: () => ({ refused: "SPOOL_FULL" }) as never } },
  { name: "malformed target (400)", status: 400, head: post("/threads/%zz", 5000), overrides: { state: () => ({}) as ProxyState } },
  { name: "dot segments (400)", status: 400, head: post("/threads/../runs", 5000), overrides: { state: () => ({}) as ProxyState } },
  { name: "declared body too large (413)", status: 413, head: post("/runs/wait", 50_000), overrides: { state: () => ({}) as ProxyState } },
  { name: "chunked body growing too large (413)", status: 413, head: "POST /runs/wait HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n", overrides: { state: () => ({}) as ProxyState } },
  { name: "health endpoint with a body (200)", status: 200, head: post("/healthz", 5000) },
];

describe("an answer sent before the body was read closes the connection; the smuggled request is never answered", () => {
  test.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await withServer(c.overrides ?? {}, async (port) => {
      // Chunked: one 2 KiB chunk (over the 1 KiB limit) and no terminator; else 10 bytes of a longer body.
      const part = c.head.includes("chunked") ? `800\r\n${"a".repeat(0x800)}\r\n${SMUGGLED}` : `{"a":"b"}\n${SMUGGLED}`;
      const answer = await raw(port, c.head, part);
      expect(answer.closedByServer).toBe(true);
      const answers = answer.text.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
      expect(answers).toEqual([`HTTP/1.1 ${c.status}`]);
      expect(answer.text).toMatch(/\r\nconnection: close\r\n/i);
    });
  });

  test("control: an answer after the whole body was read keeps the connection open", async () => {
    // state {} makes the pipeline throw after the body was read: 500, with keep-alive.
    await withServer({ state: () => ({}) as ProxyState }, async (port) => {
      const answer = await raw(port, post("/assistants/search", 2, "authorization: Bearer x\r\n"), "{}");
      expect(answer.closedByServer).toBe(false);
      expect(answer.text).toMatch(/^HTTP\/1\.1 500/);
      expect(answer.text).not.toMatch(/\r\nconnection: close\r\n/i);
    });
  });
});
