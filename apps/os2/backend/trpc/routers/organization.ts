import { TRPCError } from "@trpc/server";
import { z } from "zod";
import {
  addMember,
  createOrganization,
  deleteOrganization,
  listMembers,
  removeMember,
  updateMemberRole,
  updateOrganization,
} from "../../services/organizations.ts";
import { listProjects } from "../../services/projects.ts";
import { organizationAdminProcedure, organizationProcedure, router, signedInProcedure } from "../init.ts";
import { emailSchema, idSchema, nameSchema, organizationRoleSchema, slugSchema } from "../schemas.ts";

export const organizationRouter = router({
  create: signedInProcedure
    .input(z.object({ name: nameSchema, slug: slugSchema.optional() }))
    .mutation(async ({ ctx, input }) => {
      const created = await createOrganization(ctx.db, { userId: ctx.user.id, name: input.name, slug: input.slug });
      ctx.scope.organizationId = created.id;
      return { id: created.id, name: created.name, slug: created.slug };
    }),
  bySlug: organizationProcedure.query(({ ctx }) => ({ ...ctx.organization, role: ctx.role })),
  update: organizationAdminProcedure
    .input(z.object({ name: nameSchema.optional(), slug: slugSchema.optional() }))
    .mutation(({ ctx, input }) => updateOrganization(ctx.db, ctx.organization.id, input)),
  delete: organizationProcedure.mutation(async ({ ctx }) => {
    if (ctx.role !== "owner") throw new TRPCError({ code: "FORBIDDEN", message: "Only owners can delete an organization." });
    const projects = await listProjects(ctx.db, ctx.organization.id);
    await ctx.machines.deleteAllInProjects(projects.map((project) => project.id));
    await deleteOrganization(ctx.db, ctx.organization.id);
    return { id: ctx.organization.id };
  }),
  members: organizationProcedure.query(({ ctx }) => listMembers(ctx.db, ctx.organization.id)),
  addMember: organizationAdminProcedure
    .input(z.object({ email: emailSchema, role: organizationRoleSchema.default("member") }))
    .mutation(({ ctx, input }) => {
      if (input.role === "owner" && ctx.role !== "owner") {
        throw new TRPCError({ code: "FORBIDDEN", message: "Only owners can add owners." });
      }
      return addMember(ctx.db, { organizationId: ctx.organization.id, email: input.email, role: input.role });
    }),
  updateMemberRole: organizationAdminProcedure
    .input(z.object({ userId: idSchema("usr"), role: organizationRoleSchema }))
    .mutation(async ({ ctx, input }) => {
      await updateMemberRole(ctx.db, { organizationId: ctx.organization.id, ...input, actorRole: ctx.role });
      return { userId: input.userId, role: input.role };
    }),
  removeMember: organizationProcedure
    .input(z.object({ userId: idSchema("usr") }))
    .mutation(async ({ ctx, input }) => {
      await removeMember(ctx.db, {
        organizationId: ctx.organization.id,
        userId: input.userId,
        actorRole: ctx.role,
        actorUserId: ctx.user.id,
      });
      return { userId: input.userId };
    }),
});
