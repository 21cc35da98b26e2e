import type { ServerResponse } from "node:http";
import { errors as undiciErrors, type Dispatcher } from "undici";
import type { RequestContext } from "../pipeline/context.js";
import { CONTINUE, deny, type Outcome } from "../pipeline/outcome.js";
import { basePath } from "../upstream/pools.js";
import { inboundHeaders, outboundHeaders } from "../upstream/outbound-headers.js";
import { ResponseRelay, relayMode } from "../pipeline/response-relay.js";
import { filterResponseHeaders } from "./filter-response.js";
import { assertions } from "../upstream/assertion.js";
import { maskerOf } from "../pipeline/context.js";
import { maskHeaders } from "../../common/masking/headers.js";
import { maskQuery } from "../../common/masking/query.js";
import { runOutlivesHangUp, startsRun } from "../limits/run-rules.js";
import { HangUp, type CancelSignal } from "../pipeline/hang-up.js";

const RUN_LOCATION = /^\/(?:threads\/([0-9a-f-]{36})\/)?runs\/([0-9a-f-]{36})$/i;

/** The run a run-starting exchange created, as the upstream's Content-Location names it. */
function noteStartedRun(ctx: RequestContext, location: string | string[] | undefined): void {
  if (!startsRun(ctx) || typeof location !== "string") return;
  const m = RUN_LOCATION.exec(location);
  if (m) ctx.startedRun = m[1] ? { runId: m[2]!, threadId: m[1] } : { runId: m[2]! };
}

/**
 * The signal that cancels the upstream request. Usually the caller's hang-up; but when the run
 * goes on upstream anyway (see runOutlivesHangUp), the upstream response is read to its end so
 * the run keeps its slot and is priced, bounded by the run tracker's longest run.
 */
function upstreamSignal(ctx: RequestContext): CancelSignal {
  if (!runOutlivesHangUp(ctx)) return ctx.signal;
  const upstream = new HangUp();
  ctx.signal.once("abort", () => {
    const left = ctx.services.runTracker.maxRunMs - (Date.now() - ctx.req.startedAt);
    const timer = setTimeout(() => upstream.abort(), Math.max(0, left)).unref();
    ctx.cleanups.push(() => clearTimeout(timer));
  });
  return upstream;
}

function isTimeout(err: unknown): boolean {
  return err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
}

/**
 * Sends the (checked, masked) request to the connection with the gateway's credential and
 * relays the answer through ResponseRelay. Upstream failures before the response starts
 * become 502/504 denials; after it starts, the caller's response is cut (it cannot change
 * status any more). A caller that disconnects aborts the upstream request, unless the run
 * goes on upstream regardless (then the answer is read to its end, see upstreamSignal).
 */
export async function forward(ctx: RequestContext, res: ServerResponse): Promise<Outcome> {
  const conn = ctx.connection!;
  const identity = ctx.identity!;
  const assertion = assertions.sign(ctx.state.policy.assertionKey, identity);
  const headers = outboundHeaders(ctx.req.headers, conn, identity, ctx.req.id, assertion);
  const body = ctx.outboundBody && ctx.outboundBody.length > 0 ? ctx.outboundBody : null;
  // The query string is masked like a body: recorded masked always, forwarded masked when the policy masks inputs.
  const masker = maskerOf(ctx);
  const search = ctx.outboundSearch ?? ctx.req.search;
  const maskedQuery = maskQuery(search, masker.maskJson);
  ctx.record.query = maskedQuery;
  if (body) headers["content-type"] = "application/json";
  const options: Dispatcher.RequestOptions = {
    method: ctx.req.method,
    path: basePath(conn) + ctx.req.rawPath + (ctx.decision?.rule.maskRequests ? maskedQuery : search),
    headers,
    body,
    signal: upstreamSignal(ctx),
  };
  try {
    // (a read has nothing written ahead: no promise to wait for)
    const ahead = ctx.beforeForward();
    if (ahead) await ahead;
  } catch {
    return deny("SPOOL_FULL", "the gateway cannot record sessions right now; try again later", undefined, 5);
  }
  let status = 0;
  try {
    await ctx.services.pools.get(conn).stream(options, ({ statusCode, headers: upstreamHeaders }) => {
      status = statusCode;
      noteStartedRun(ctx, upstreamHeaders["content-location"]);
      ctx.record.status = statusCode;
      ctx.record.decision = "allow";
      const contentType = String(upstreamHeaders["content-type"] ?? "");
      const filtered = filterResponseHeaders(ctx, maskHeaders(inboundHeaders(upstreamHeaders, conn.credential, ctx.req.id), masker.maskJson));
      return new ResponseRelay(ctx, res, statusCode, filtered, relayMode(ctx, statusCode, contentType, String(upstreamHeaders["content-encoding"] ?? "")));
    });
  } catch (err) {
    if (res.headersSent || ctx.signal.aborted) {
      // (a relay that cut the stream itself said why, e.g. MASKING_BOUND)
      ctx.record.errorCode = ctx.signal.aborted ? "CLIENT_CLOSED" : ctx.record.errorCode || "UPSTREAM_BROKEN";
      res.destroy();
      return CONTINUE;
    }
    if (isTimeout(err)) return deny("UPSTREAM_TIMEOUT", "the upstream did not answer in time");
    return deny("UPSTREAM_UNAVAILABLE", status ? "the upstream response could not be relayed" : "the upstream is unavailable");
  }
  return CONTINUE;
}
