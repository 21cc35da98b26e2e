-- CreateTable
CREATE TABLE "ChainAnchor" (
    "proxyId" TEXT NOT NULL PRIMARY KEY,
    "headSeq" BIGINT NOT NULL,
    "headHash" TEXT NOT NULL,
    "startSeq" BIGINT NOT NULL,
    "startPrevHash" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);
