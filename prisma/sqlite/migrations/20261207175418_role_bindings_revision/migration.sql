-- AlterTable (hand-written: a plain ADD COLUMN instead of Prisma's table redefinition, whose
-- DROP TABLE "Role" would cascade to every RoleBinding while foreign keys are on)
ALTER TABLE "Role" ADD COLUMN "bindingsRevision" INTEGER NOT NULL DEFAULT 0;

-- Every insert or delete of a binding, by any path (API, bulk SQL, cascades), bumps its
-- role's revision: the snapshot builder re-reads exactly the roles whose revision moved.
CREATE TRIGGER "RoleBinding_insert_bumps_role" AFTER INSERT ON "RoleBinding"
BEGIN
  UPDATE "Role" SET "bindingsRevision" = "bindingsRevision" + 1 WHERE "id" = NEW."roleId";
END;
CREATE TRIGGER "RoleBinding_delete_bumps_role" AFTER DELETE ON "RoleBinding"
BEGIN
  UPDATE "Role" SET "bindingsRevision" = "bindingsRevision" + 1 WHERE "id" = OLD."roleId";
END;
CREATE TRIGGER "RoleBinding_update_bumps_role" AFTER UPDATE ON "RoleBinding"
BEGIN
  UPDATE "Role" SET "bindingsRevision" = "bindingsRevision" + 1 WHERE "id" IN (OLD."roleId", NEW."roleId");
END;
