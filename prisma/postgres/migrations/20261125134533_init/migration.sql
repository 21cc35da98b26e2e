-- CreateTable
CREATE TABLE "Identity" (
    "id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "email" TEXT,
    "displayName" TEXT,
    "status" TEXT NOT NULL DEFAULT 'active',
    "groups" JSONB NOT NULL,
    "lastSeenAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Identity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IdentityProvider" (
    "id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "jwksUri" TEXT,
    "audiences" JSONB NOT NULL,
    "groupsClaim" TEXT NOT NULL DEFAULT 'groups',
    "allowedAlgorithms" JSONB NOT NULL,
    "clockToleranceSeconds" INTEGER NOT NULL DEFAULT 60,
    "groupMapping" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "IdentityProvider_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Role" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Role_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoleBinding" (
    "id" TEXT NOT NULL,
    "roleId" TEXT NOT NULL,
    "issuer" TEXT,
    "group" TEXT,
    "identityId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RoleBinding_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Connection" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'langgraph',
    "baseUrl" TEXT NOT NULL,
    "credentialHeader" TEXT NOT NULL DEFAULT 'x-api-key',
    "credentialCiphertext" TEXT,
    "connectTimeoutMs" INTEGER NOT NULL DEFAULT 5000,
    "headersTimeoutMs" INTEGER NOT NULL DEFAULT 30000,
    "bodyTimeoutMs" INTEGER NOT NULL DEFAULT 300000,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Connection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MaskingProfile" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "rules" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MaskingProfile_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Policy" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "roleId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "graphs" JSONB NOT NULL,
    "operations" JSONB NOT NULL,
    "maskingProfileId" TEXT,
    "maskRequests" BOOLEAN NOT NULL DEFAULT true,
    "limits" JSONB NOT NULL,
    "denylist" JSONB NOT NULL,
    "approval" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Policy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApprovalRequest" (
    "id" TEXT NOT NULL,
    "requesterIssuer" TEXT NOT NULL,
    "requesterSubject" TEXT NOT NULL,
    "requesterEmail" TEXT,
    "proxyId" TEXT,
    "policyId" TEXT,
    "connectionId" TEXT NOT NULL,
    "graph" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "parameters" JSONB NOT NULL,
    "reason" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "reviewer" TEXT,
    "reviewNote" TEXT,
    "decidedAt" TIMESTAMP(3),
    "grantExpiresAt" TIMESTAMP(3),
    "grantUsesLeft" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ApprovalRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "proxyId" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "requestId" TEXT NOT NULL,
    "issuer" TEXT,
    "subject" TEXT,
    "email" TEXT,
    "groups" JSONB NOT NULL,
    "connectionId" TEXT,
    "operation" TEXT,
    "graph" TEXT,
    "assistantId" TEXT,
    "threadId" TEXT,
    "runId" TEXT,
    "decision" TEXT NOT NULL,
    "reasons" JSONB NOT NULL,
    "snapshotVersion" BIGINT NOT NULL,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "requestJson" TEXT,
    "responseJson" TEXT,
    "events" JSONB,
    "bytesIn" BIGINT NOT NULL,
    "bytesOut" BIGINT NOT NULL,
    "cost" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "maskCounts" JSONB NOT NULL,
    "errorCode" TEXT,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AdminAudit" (
    "id" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "snapshotVersion" BIGINT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AdminAudit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SnapshotVersion" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SnapshotVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProxyStatus" (
    "proxyId" TEXT NOT NULL,
    "address" TEXT,
    "ackedVersion" BIGINT,
    "lastError" TEXT,
    "connectedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProxyStatus_pkey" PRIMARY KEY ("proxyId")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "scopes" JSONB NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Identity_email_idx" ON "Identity"("email");

-- CreateIndex
CREATE UNIQUE INDEX "Identity_issuer_subject_key" ON "Identity"("issuer", "subject");

-- CreateIndex
CREATE UNIQUE INDEX "IdentityProvider_issuer_key" ON "IdentityProvider"("issuer");

-- CreateIndex
CREATE UNIQUE INDEX "Role_name_key" ON "Role"("name");

-- CreateIndex
CREATE INDEX "RoleBinding_roleId_idx" ON "RoleBinding"("roleId");

-- CreateIndex
CREATE INDEX "RoleBinding_issuer_group_idx" ON "RoleBinding"("issuer", "group");

-- CreateIndex
CREATE INDEX "RoleBinding_identityId_idx" ON "RoleBinding"("identityId");

-- CreateIndex
CREATE UNIQUE INDEX "Connection_name_key" ON "Connection"("name");

-- CreateIndex
CREATE UNIQUE INDEX "MaskingProfile_name_key" ON "MaskingProfile"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Policy_name_key" ON "Policy"("name");

-- CreateIndex
CREATE INDEX "Policy_roleId_idx" ON "Policy"("roleId");

-- CreateIndex
CREATE INDEX "Policy_connectionId_idx" ON "Policy"("connectionId");

-- CreateIndex
CREATE INDEX "ApprovalRequest_status_createdAt_idx" ON "ApprovalRequest"("status", "createdAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_requesterIssuer_requesterSubject_idx" ON "ApprovalRequest"("requesterIssuer", "requesterSubject");

-- CreateIndex
CREATE INDEX "Session_startedAt_idx" ON "Session"("startedAt");

-- CreateIndex
CREATE INDEX "Session_issuer_subject_startedAt_idx" ON "Session"("issuer", "subject", "startedAt");

-- CreateIndex
CREATE INDEX "Session_email_startedAt_idx" ON "Session"("email", "startedAt");

-- CreateIndex
CREATE INDEX "Session_graph_startedAt_idx" ON "Session"("graph", "startedAt");

-- CreateIndex
CREATE INDEX "Session_decision_startedAt_idx" ON "Session"("decision", "startedAt");

-- CreateIndex
CREATE INDEX "Session_threadId_idx" ON "Session"("threadId");

-- CreateIndex
CREATE UNIQUE INDEX "Session_proxyId_seq_key" ON "Session"("proxyId", "seq");

-- CreateIndex
CREATE INDEX "AdminAudit_at_idx" ON "AdminAudit"("at");

-- CreateIndex
CREATE INDEX "AdminAudit_target_at_idx" ON "AdminAudit"("target", "at");

-- CreateIndex
CREATE INDEX "AdminAudit_actor_at_idx" ON "AdminAudit"("actor", "at");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_name_key" ON "ApiToken"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_secretHash_key" ON "ApiToken"("secretHash");

-- CreateIndex
CREATE INDEX "ApiToken_prefix_idx" ON "ApiToken"("prefix");

-- AddForeignKey
ALTER TABLE "RoleBinding" ADD CONSTRAINT "RoleBinding_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleBinding" ADD CONSTRAINT "RoleBinding_identityId_fkey" FOREIGN KEY ("identityId") REFERENCES "Identity"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Policy" ADD CONSTRAINT "Policy_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Policy" ADD CONSTRAINT "Policy_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Policy" ADD CONSTRAINT "Policy_maskingProfileId_fkey" FOREIGN KEY ("maskingProfileId") REFERENCES "MaskingProfile"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Seed: the single SnapshotVersion row (control-plane/store/snapshot-version.ts bumps it).
INSERT INTO "SnapshotVersion" ("id", "version", "updatedAt") VALUES (1, 0, CURRENT_TIMESTAMP);
