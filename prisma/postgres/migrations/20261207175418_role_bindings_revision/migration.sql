-- AlterTable
ALTER TABLE "Role" ADD COLUMN     "bindingsRevision" INTEGER NOT NULL DEFAULT 0;

-- Every insert, update or delete of bindings, by any path (API, bulk SQL, cascades), bumps
-- the revision of each role it touched, once per statement (a bulk insert of 100,000
-- bindings is one update of its role): the snapshot builder re-reads exactly those roles.
CREATE FUNCTION "role_binding_bump_roles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE "Role" SET "bindingsRevision" = "bindingsRevision" + 1 WHERE "id" IN (SELECT DISTINCT "roleId" FROM new_rows);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE "Role" SET "bindingsRevision" = "bindingsRevision" + 1 WHERE "id" IN (SELECT DISTINCT "roleId" FROM old_rows);
  ELSE
    UPDATE "Role" SET "bindingsRevision" = "bindingsRevision" + 1 WHERE "id" IN (SELECT "roleId" FROM old_rows UNION SELECT "roleId" FROM new_rows);
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER "RoleBinding_insert_bumps_role" AFTER INSERT ON "RoleBinding" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "role_binding_bump_roles"();
CREATE TRIGGER "RoleBinding_delete_bumps_role" AFTER DELETE ON "RoleBinding" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "role_binding_bump_roles"();
CREATE TRIGGER "RoleBinding_update_bumps_role" AFTER UPDATE ON "RoleBinding" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "role_binding_bump_roles"();
