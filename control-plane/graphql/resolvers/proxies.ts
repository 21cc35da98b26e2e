import type { ProxyStatus } from "../../snapshot/status.js";
import { listProxyStatuses } from "../../snapshot/status-store.js";
import { currentKeyGeneration, rotateGatewayKeys } from "../../admin/gateway-keys.js";
import { withCaller } from "../guard.js";
import { versionString } from "../map.js";
import { pageOfList, pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

function proxyView(p: ProxyStatus) {
  return {
    id: p.proxyId,
    address: p.address,
    ackedVersion: versionString(p.ackedVersion),
    lastError: p.lastError,
    rejectedVersion: versionString(p.rejectedVersion),
    lastSeen: p.lastSeen,
    connected: p.connected,
  };
}

/** Proxies known to this control plane and the snapshot it serves (READ). */
export const proxyResolvers = {
  Query: {
    // Every replica's proxies (this one's registry plus the shared table), sorted by id as pageOfList needs.
    proxies: withCaller(async (args: ConnectionArgs, _by, ctx) =>
      toConnection(pageOfList((await listProxyStatuses(ctx.db, ctx.proxies)).map(proxyView), pageRequest(args))),
    ),
    snapshot: withCaller(async (_args: unknown, _by, ctx) => {
      const current = ctx.publisher.current();
      return { version: versionString(current?.version ?? 0n), createdAt: current ? new Date(Number(current.createdAtMs)) : null, keyGeneration: await currentKeyGeneration(ctx.admin) };
    }),
  },
  Mutation: {
    rotateGatewayKeys: withCaller(async (_args: unknown, by, ctx) => {
      const committed = await rotateGatewayKeys(ctx.admin, by);
      return { keyGeneration: committed.value.keyGeneration, snapshotVersion: versionString(committed.snapshotVersion) };
    }),
  },
};
