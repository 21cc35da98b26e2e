-- AlterTable
ALTER TABLE "Policy" ADD COLUMN     "pseudonymScope" TEXT NOT NULL DEFAULT 'thread';
