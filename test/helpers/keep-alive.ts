import { connect } from "node:net";

/**
 * Opens `count` keep-alive connections to a proxy, each left idle after one complete
 * exchange (GET /healthz). Resolves with a promise per connection that settles when the
 * proxy closes it (a graceful shutdown must close idle connections at once).
 */
export async function idleKeepAliveConnections(proxyUrl: string, count: number): Promise<Array<{ closed: Promise<void> }>> {
  const port = Number(new URL(proxyUrl).port);
  return Promise.all(
    Array.from({ length: count }, async () => {
      const socket = connect(port, "127.0.0.1");
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.on("error", () => undefined);
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write("GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n");
      await new Promise((resolve) => socket.once("data", resolve));
      return { closed }; // wrapped: an async function returning the promise itself would wait for it
    }),
  );
}
