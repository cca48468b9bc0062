import { z } from "zod";

import { organizationProcedure, organizationProcedureFor, router, signedInProcedure } from "../init.ts";
import { emailSchema, idSchema, nameSchema, organizationRoleSchema, slugSchema } from "../schemas.ts";

export const organizationRouter = router({
  create: signedInProcedure
    .input(z.object({ name: nameSchema, slug: slugSchema.optional() }))
    .mutation(async ({ ctx, input }) => {
      const created = await ctx.services.organizations.create({
        userId: ctx.user.id,
        name: input.name,
        slug: input.slug,
      });
      ctx.scope.organizationId = created.id;
      return { id: created.id, name: created.name, slug: created.slug };
    }),
  bySlug: organizationProcedure.query(({ ctx }) => ({ ...ctx.organization, role: ctx.role })),
  update: organizationProcedureFor("organization.update")
    .input(z.object({ name: nameSchema.optional(), slug: slugSchema.optional() }))
    .mutation(({ ctx, input }) => ctx.services.organizations.update(ctx.organization.id, input)),
  delete: organizationProcedureFor("organization.delete").mutation(async ({ ctx }) => {
    await ctx.services.organizations.delete(ctx.organization.id);
    return { id: ctx.organization.id };
  }),
  /** The machines deleting this organization would destroy, with their project. */
  machines: organizationProcedure.query(({ ctx }) => ctx.services.organizations.machines(ctx.organization.id)),
  members: organizationProcedure.query(({ ctx }) => ctx.services.organizations.members(ctx.organization.id)),
  addMember: organizationProcedureFor("members.manage")
    .input(z.object({ email: emailSchema, role: organizationRoleSchema.default("member") }))
    .mutation(({ ctx, input }) =>
      ctx.services.organizations.addMember({ organizationId: ctx.organization.id, ...input, actorRole: ctx.role }),
    ),
  updateMemberRole: organizationProcedureFor("members.manage")
    .input(z.object({ userId: idSchema("usr"), role: organizationRoleSchema }))
    .mutation(async ({ ctx, input }) => {
      await ctx.services.organizations.updateMemberRole({
        organizationId: ctx.organization.id,
        ...input,
        actorRole: ctx.role,
      });
      return { userId: input.userId, role: input.role };
    }),
  removeMember: organizationProcedure.input(z.object({ userId: idSchema("usr") })).mutation(async ({ ctx, input }) => {
    await ctx.services.organizations.removeMember({
      organizationId: ctx.organization.id,
      userId: input.userId,
      actorRole: ctx.role,
      actorUserId: ctx.user.id,
    });
    return { userId: input.userId };
  }),
});
