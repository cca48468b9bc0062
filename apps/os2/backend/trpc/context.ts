/**
 * Per-request context. Dependencies are built once at the entry point (AppDeps); the request adds who is
 * calling: a better-auth session, a project access token, or nobody.
 */
import type { Auth } from "../auth/auth.ts";
import type { Encryptor } from "../crypto.ts";
import type { Db } from "../db/client.ts";
import type { Logger } from "../logger.ts";
import type { RealtimeHub } from "../realtime/hub.ts";
import { authenticateAccessToken } from "../services/access-tokens.ts";
import type { MachineService } from "../services/machines/machine-service.ts";
import type { MutationObserver } from "./mutation-observer.ts";

export type AppDeps = {
  db: Db;
  auth: Auth;
  encryptor: Encryptor;
  stage: string;
  log: Logger;
  realtime: RealtimeHub;
  mutationObserver: MutationObserver;
  googleEnabled: boolean;
  /** No SMTP_URL: sign-in codes go to the server log, and the login page says so. */
  codesInServerLog: boolean;
  machines: MachineService;
};

export type SessionUser = { id: string; email: string; name: string; role: string | null };

/** Set by the organization/project middlewares so after-mutation effects know whom to notify. */
export type RequestScope = { organizationId?: string; projectId?: string };

export type Context = AppDeps & {
  headers: Headers;
  user: SessionUser | null;
  impersonatedBy: string | null;
  accessToken: { tokenId: string; projectId: string } | null;
  scope: RequestScope;
};

export async function createContext(deps: AppDeps, headers: Headers): Promise<Context> {
  const base = { ...deps, headers, scope: {}, user: null, impersonatedBy: null, accessToken: null };
  const authorization = headers.get("authorization") ?? "";
  if (authorization.toLowerCase().startsWith("bearer ")) {
    const token = authorization.slice(7).trim();
    const accessToken = await authenticateAccessToken(deps.db, token);
    return { ...base, accessToken };
  }
  const session = await deps.auth.api.getSession({ headers });
  if (!session) return base;
  const { user } = session;
  return {
    ...base,
    user: { id: user.id, email: user.email, name: user.name, role: user.role ?? null },
    impersonatedBy: session.session.impersonatedBy ?? null,
  };
}
