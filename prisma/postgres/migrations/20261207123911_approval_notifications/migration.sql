-- CreateTable
CREATE TABLE "ApprovalNotification" (
    "id" TEXT NOT NULL,
    "approvalRequestId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ApprovalNotification_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ApprovalNotification_status_nextAttemptAt_idx" ON "ApprovalNotification"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "ApprovalNotification_approvalRequestId_idx" ON "ApprovalNotification"("approvalRequestId");
