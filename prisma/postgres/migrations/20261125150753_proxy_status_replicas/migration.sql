-- AlterTable
ALTER TABLE "ProxyStatus" ADD COLUMN     "connected" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "rejectedVersion" BIGINT,
ADD COLUMN     "replica" TEXT;
