/** better-auth's browser client: email one-time codes, Google, and the admin plugin (impersonation). */
import { adminClient, emailOTPClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({
  baseURL: window.location.origin,
  basePath: "/api/auth",
  plugins: [emailOTPClient(), adminClient()],
});
