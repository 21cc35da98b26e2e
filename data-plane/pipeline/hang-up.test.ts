import { Pool } from "undici";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HangUp } from "./hang-up.js";

describe("HangUp", () => {
  test("aborts once: listeners run a single time, aborted stays true", () => {
    const hangUp = new HangUp();
    let calls = 0;
    hangUp.once("abort", () => calls++);
    hangUp.on("abort", () => calls++);
    expect(hangUp.aborted).toBe(false);
    hangUp.abort();
    hangUp.abort();
    expect(hangUp.aborted).toBe(true);
    expect(calls).toBe(2);
  });

  describe("as undici's signal", () => {
    let server: Server;
    let pool: Pool;
    let requestsSeen = 0;
    let closedByPeer = 0;
    beforeAll(async () => {
      // Answers nothing: the request waits for headers until the signal cancels it.
      server = createServer((req) => {
        requestsSeen++;
        req.socket.once("close", () => closedByPeer++);
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    afterAll(async () => {
      await pool.destroy();
      await new Promise((r) => server.close(r));
    });

    test("aborting cancels a request in flight, and the upstream sees its connection closed", async () => {
      const hangUp = new HangUp();
      const done = pool.stream({ method: "GET", path: "/", signal: hangUp }, () => {
        throw new Error("no response expected");
      });
      while (requestsSeen === 0) await new Promise((r) => setTimeout(r, 5));
      hangUp.abort();
      await expect(done).rejects.toMatchObject({ name: "AbortError" });
      while (closedByPeer === 0) await new Promise((r) => setTimeout(r, 5));
      expect(hangUp.listenerCount("abort")).toBe(0); // undici removed its listener
    });

    test("an already aborted signal never sends the request", async () => {
      const before = requestsSeen;
      const hangUp = new HangUp();
      hangUp.abort();
      await expect(pool.stream({ method: "GET", path: "/", signal: hangUp }, () => undefined as never)).rejects.toMatchObject({ name: "AbortError" });
      expect(requestsSeen).toBe(before);
    });
  });
});
