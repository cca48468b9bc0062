/**
 * Per-request context. Dependencies are built once at the entry point (AppDeps); the request adds who is
 * calling, as the access service identifies them: a better-auth session, a project access token, or nobody.
 */
import { TRPCError } from "@trpc/server";

import type { Encryptor } from "../crypto.ts";
import type { Logger } from "../logger.ts";
import type { Caller, SessionUser } from "../services/access.ts";
import type { Services } from "../services/index.ts";
import { DATABASE_OUTAGE_MESSAGE, isDatabaseOutage } from "../services/outages.ts";
import type { MutationObserver } from "./mutation-observer.ts";

export type { SessionUser };

export type AppDeps = {
  services: Services;
  encryptor: Encryptor;
  stage: string;
  log: Logger;
  mutationObserver: MutationObserver;
  googleEnabled: boolean;
  /** How sign-in codes reach people: mail, the server log (local stages without SMTP), or not at all. */
  emailDelivery: "smtp" | "log" | "none";
  /** The preview origin of one port of a machine (OS2_PREVIEW_URL). */
  previewUrlFor(machineId: string, port: number): string;
};

/** Set by the organization/project middlewares so after-mutation effects know whom to notify. */
export type RequestScope = { organizationId?: string; projectId?: string };

export type Context = AppDeps & {
  headers: Headers;
  caller: Caller;
  user: SessionUser | null;
  impersonatedBy: string | null;
  accessToken: { tokenId: string; projectId: string } | null;
  scope: RequestScope;
};

/**
 * The deps' mutation observer, after which the access service forgets what it remembers (who a session
 * is, who may reach a project), so a change a mutation made (a name, a role, a removed member) holds from
 * the next request. One per deps: no request makes one.
 */
const observers = new WeakMap<AppDeps, MutationObserver>();
function observerOf(deps: AppDeps): MutationObserver {
  let observer = observers.get(deps);
  if (!observer) {
    observer = {
      onMutationSuccess: (outcome) => {
        deps.services.access.forget();
        deps.mutationObserver.onMutationSuccess(outcome);
      },
    };
    observers.set(deps, observer);
  }
  return observer;
}

export async function createContext(deps: AppDeps, headers: Headers): Promise<Context> {
  // Who is calling needs the database: when it is down, every call says so (503), none fails with a 500.
  const caller = await deps.services.access.identify(headers).catch((error: unknown) => {
    if (isDatabaseOutage(error))
      throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: DATABASE_OUTAGE_MESSAGE, cause: error });
    throw error;
  });
  return {
    ...deps,
    mutationObserver: observerOf(deps),
    headers,
    caller,
    scope: {},
    user: caller.kind === "user" ? caller.user : null,
    impersonatedBy: caller.kind === "user" ? caller.impersonatedBy : null,
    accessToken: caller.kind === "token" ? { tokenId: caller.tokenId, projectId: caller.projectId } : null,
  };
}
