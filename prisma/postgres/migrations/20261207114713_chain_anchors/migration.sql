-- CreateTable
CREATE TABLE "ChainAnchor" (
    "proxyId" TEXT NOT NULL,
    "headSeq" BIGINT NOT NULL,
    "headHash" TEXT NOT NULL,
    "startSeq" BIGINT NOT NULL,
    "startPrevHash" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChainAnchor_pkey" PRIMARY KEY ("proxyId")
);
