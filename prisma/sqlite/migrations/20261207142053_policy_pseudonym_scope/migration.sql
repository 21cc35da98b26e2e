-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Policy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "roleId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "graphs" JSONB NOT NULL,
    "operations" JSONB NOT NULL,
    "maskingProfileId" TEXT,
    "maskRequests" BOOLEAN NOT NULL DEFAULT true,
    "pseudonymScope" TEXT NOT NULL DEFAULT 'thread',
    "limits" JSONB NOT NULL,
    "denylist" JSONB NOT NULL,
    "approval" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Policy_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Policy_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Policy_maskingProfileId_fkey" FOREIGN KEY ("maskingProfileId") REFERENCES "MaskingProfile" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Policy" ("approval", "connectionId", "createdAt", "denylist", "description", "graphs", "id", "limits", "maskRequests", "maskingProfileId", "name", "operations", "roleId", "updatedAt") SELECT "approval", "connectionId", "createdAt", "denylist", "description", "graphs", "id", "limits", "maskRequests", "maskingProfileId", "name", "operations", "roleId", "updatedAt" FROM "Policy";
DROP TABLE "Policy";
ALTER TABLE "new_Policy" RENAME TO "Policy";
CREATE UNIQUE INDEX "Policy_name_key" ON "Policy"("name");
CREATE INDEX "Policy_roleId_idx" ON "Policy"("roleId");
CREATE INDEX "Policy_connectionId_idx" ON "Policy"("connectionId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
