-- AlterTable
ALTER TABLE "SnapshotVersion" ADD COLUMN     "keyGeneration" INTEGER NOT NULL DEFAULT 1;
