-- AlterTable (hand-written: a plain ADD COLUMN instead of Prisma's table redefinition)
ALTER TABLE "SnapshotVersion" ADD COLUMN "keyGeneration" INTEGER NOT NULL DEFAULT 1;
