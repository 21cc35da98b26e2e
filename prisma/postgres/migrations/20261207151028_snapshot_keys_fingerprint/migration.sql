-- AlterTable
ALTER TABLE "SnapshotVersion" ADD COLUMN     "keysFingerprint" TEXT NOT NULL DEFAULT '';
