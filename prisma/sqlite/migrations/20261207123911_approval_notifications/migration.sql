-- CreateTable
CREATE TABLE "ApprovalNotification" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "approvalRequestId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "ApprovalNotification_status_nextAttemptAt_idx" ON "ApprovalNotification"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "ApprovalNotification_approvalRequestId_idx" ON "ApprovalNotification"("approvalRequestId");
