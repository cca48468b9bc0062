/** The API's root router. The SPA imports only its type. */
import { router } from "./init.ts";
import { accessTokenRouter } from "./routers/access-token.ts";
import { adminRouter } from "./routers/admin.ts";
import { envVarRouter } from "./routers/env-var.ts";
import { machineRouter } from "./routers/machine.ts";
import { organizationRouter } from "./routers/organization.ts";
import { projectRouter } from "./routers/project.ts";
import { userRouter } from "./routers/user.ts";

export const appRouter = router({
  user: userRouter,
  organization: organizationRouter,
  project: projectRouter,
  envVar: envVarRouter,
  accessToken: accessTokenRouter,
  machine: machineRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
