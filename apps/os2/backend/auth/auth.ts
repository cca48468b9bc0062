/**
 * Sign-in: better-auth with email one-time codes (6 digits, 5 minutes), optional Google, and the admin
 * plugin (list users, impersonate). Mounted at /api/auth. Codes go out over SMTP when configured, and on
 * local stages without it to the server log; `+…test@` addresses use a fixed code only where enabled
 * (OS2_TEST_OTP, by default local and dev stages) and get no mail.
 */
import { APIError, betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { createAuthMiddleware } from "better-auth/api";
import { admin, emailOTP } from "better-auth/plugins";
import { eq } from "drizzle-orm";

import type { Db } from "../db/client.ts";
import { account, rateLimit, session, user, verification } from "../db/schema/auth.ts";
import { type IdKind, newId } from "../ids.ts";
import { isSignupAllowed, isTestEmail, type SignupAllowlist, TEST_OTP_CODE } from "./email-rules.ts";
import { type Mailer, NO_MAIL_MESSAGE } from "./mailer.ts";

export type CreateAuthOptions = {
  db: Db;
  baseURL: string;
  secret: string;
  stage: string;
  mailer: Mailer;
  signupAllowlist: SignupAllowlist;
  adminEmails: Set<string>;
  google?: { clientId: string; clientSecret: string };
  otpRateLimitPerMinute: number;
  trustedOrigins?: string[];
  /** The fixed code for `+test@` addresses (see testOtpEnabled). */
  testOtp: boolean;
};

const MODEL_ID_KIND: Record<string, IdKind> = {
  user: "user",
  session: "session",
  account: "account",
  verification: "verification",
  rateLimit: "rateLimit",
};

/** Auth endpoints that only read: every other one may end, start or change a session or a user. */
const READ_ONLY_AUTH_PATHS = new Set(["/get-session", "/ok", "/error", "/list-sessions", "/admin/list-users"]);

export function createAuth(options: CreateAuthOptions) {
  const { signupAllowlist, adminEmails } = options;
  /** Told after any auth endpoint that may have changed sessions or users (see onSessionsChanged). */
  const sessionListeners = new Set<() => void>();
  const signupRefusal = (email: string) =>
    new APIError("FORBIDDEN", {
      message: `Sign-up is not open to ${email}. Ask an administrator to add it to ALLOW_SIGNUP_FROM_EMAILS or to invite you.`,
    });

  const auth = betterAuth({
    baseURL: options.baseURL,
    basePath: "/api/auth",
    secret: options.secret,
    trustedOrigins: options.trustedOrigins,
    database: drizzleAdapter(options.db, {
      provider: "pg",
      schema: { user, session, account, verification, rateLimit },
    }),
    advanced: {
      // The server puts the client's address in X-Forwarded-For itself unless OS2_TRUST_PROXY is set (app.ts).
      ipAddress: { ipAddressHeaders: ["x-forwarded-for"] },
      database: {
        generateId: ({ model }) => {
          const kind = MODEL_ID_KIND[model];
          if (!kind) throw new Error(`No id prefix for better-auth model "${model}": add it to MODEL_ID_KIND`);
          return newId(kind);
        },
      },
    },
    telemetry: { enabled: false },
    rateLimit: {
      enabled: true,
      // In the database, so the limits hold across every instance sharing it.
      storage: "database",
      window: 60,
      max: 300,
      customRules: {
        "/email-otp/send-verification-otp": { window: 60, max: options.otpRateLimitPerMinute },
        "/sign-in/email-otp": { window: 60, max: options.otpRateLimitPerMinute * 2 },
      },
    },
    socialProviders: options.google
      ? { google: { clientId: options.google.clientId, clientSecret: options.google.clientSecret } }
      : {},
    databaseHooks: {
      // OS2_ADMIN_EMAILS applies at every sign-in, not only to accounts created after it was set.
      session: {
        create: {
          before: async (session) => {
            if (adminEmails.size === 0) return;
            const [owner] = await options.db
              .select({ email: user.email, role: user.role })
              .from(user)
              .where(eq(user.id, session.userId));
            if (owner && owner.role !== "admin" && adminEmails.has(owner.email.toLowerCase())) {
              await options.db.update(user).set({ role: "admin" }).where(eq(user.id, session.userId));
            }
          },
        },
      },
      user: {
        create: {
          before: async (data) => {
            const email = data.email.toLowerCase();
            const isAdmin = adminEmails.has(email);
            if (!isAdmin && !isSignupAllowed(signupAllowlist, email)) throw signupRefusal(email);
            return { data: { ...data, email, role: isAdmin ? "admin" : "user" } };
          },
        },
      },
    },
    hooks: {
      // Without a mail transport (and outside local stages) no code can ever arrive: say so at once,
      // the same for every address, so the answer tells nothing about who has an account.
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== "/email-otp/send-verification-otp" || options.mailer.delivery !== "none") return;
        const email = typeof ctx.body?.email === "string" ? ctx.body.email.toLowerCase() : "";
        if (isTestEmail(email, options.testOtp)) return;
        throw new APIError("SERVICE_UNAVAILABLE", { message: NO_MAIL_MESSAGE });
      }),
      // Sign-out, session revocation, bans, impersonation, user updates: whoever caches sessions reads again.
      after: createAuthMiddleware(async (ctx) => {
        if (READ_ONLY_AUTH_PATHS.has(ctx.path)) return;
        for (const listener of sessionListeners) listener();
      }),
    },
    plugins: [
      emailOTP({
        otpLength: 6,
        expiresIn: 300,
        generateOTP: ({ email }) => (isTestEmail(email, options.testOtp) ? TEST_OTP_CODE : undefined),
        // Every address gets the same answer; a code is mailed only to one that may sign in (an existing
        // account, an admin, or an address the signup allowlist admits), so nobody can probe for accounts.
        async sendVerificationOTP({ email, otp }) {
          if (isTestEmail(email, options.testOtp)) return;
          const normalized = email.toLowerCase();
          const mayEnter =
            adminEmails.has(normalized) ||
            isSignupAllowed(signupAllowlist, normalized) ||
            (await options.db.select({ id: user.id }).from(user).where(eq(user.email, normalized))).length > 0;
          if (!mayEnter) return;
          await options.mailer.sendSignInCode(normalized, otp);
        },
      }),
      admin({ adminRoles: ["admin"], defaultRole: "user" }),
    ],
  });
  return Object.assign(auth, {
    /**
     * Calls `listener` after every auth endpoint of this process that may change a session or a user (all
     * but the reads above); answers a function that stops it. Other processes sharing the database are
     * not heard: a cache of sessions must also expire on its own (services/access.ts).
     */
    onSessionsChanged(listener: () => void): () => void {
      sessionListeners.add(listener);
      return () => sessionListeners.delete(listener);
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
