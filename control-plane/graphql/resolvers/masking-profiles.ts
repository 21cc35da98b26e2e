import {
  createMaskingProfile,
  deleteMaskingProfile,
  getMaskingProfile,
  listMaskingProfiles,
  updateMaskingProfile,
  type MaskingProfileInput,
} from "../../admin/masking-profiles.js";
import { maskingProfileInputSchema, parseInput, updateSchema } from "../../admin/input-schemas.js";
import { withCaller } from "../guard.js";
import { deleted, payload } from "../map.js";
import { pageRequest, toConnection, type ConnectionArgs } from "../pagination.js";

/** Masking profiles: CRUD (READ / WRITE; policy-affecting). */
export const maskingProfileResolvers = {
  Query: {
    maskingProfiles: withCaller(async (args: ConnectionArgs, _by, ctx) => toConnection(await listMaskingProfiles(ctx.admin.db, pageRequest(args)))),
    maskingProfile: withCaller((args: { id: string }, _by, ctx) => getMaskingProfile(ctx.admin.db, args.id)),
  },
  Mutation: {
    createMaskingProfile: withCaller(async (args: { input: MaskingProfileInput }, by, ctx) =>
      payload("maskingProfile", await createMaskingProfile(ctx.admin, by, parseInput(maskingProfileInputSchema, args.input))),
    ),
    updateMaskingProfile: withCaller(async (args: { id: string; input: MaskingProfileInput }, by, ctx) =>
      payload("maskingProfile", await updateMaskingProfile(ctx.admin, by, args.id, parseInput(updateSchema(maskingProfileInputSchema), args.input))),
    ),
    deleteMaskingProfile: withCaller(async (args: { id: string }, by, ctx) => deleted(await deleteMaskingProfile(ctx.admin, by, args.id))),
  },
};
