-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_SnapshotVersion" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 0,
    "keysFingerprint" TEXT NOT NULL DEFAULT '',
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_SnapshotVersion" ("id", "updatedAt", "version") SELECT "id", "updatedAt", "version" FROM "SnapshotVersion";
DROP TABLE "SnapshotVersion";
ALTER TABLE "new_SnapshotVersion" RENAME TO "SnapshotVersion";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
