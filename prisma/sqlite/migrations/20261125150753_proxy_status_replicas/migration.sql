-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ProxyStatus" (
    "proxyId" TEXT NOT NULL PRIMARY KEY,
    "address" TEXT,
    "ackedVersion" BIGINT,
    "lastError" TEXT,
    "rejectedVersion" BIGINT,
    "connected" BOOLEAN NOT NULL DEFAULT false,
    "replica" TEXT,
    "connectedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL
);
INSERT INTO "new_ProxyStatus" ("ackedVersion", "address", "connectedAt", "lastError", "lastSeenAt", "proxyId") SELECT "ackedVersion", "address", "connectedAt", "lastError", "lastSeenAt", "proxyId" FROM "ProxyStatus";
DROP TABLE "ProxyStatus";
ALTER TABLE "new_ProxyStatus" RENAME TO "ProxyStatus";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
