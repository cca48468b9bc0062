/** Sign-out and impersonation switches: each ends with a clean query cache and analytics identity. */
import { resetAnalytics } from "../analytics.ts";
import { authClient } from "./auth-client.ts";
import { errorMessage } from "./errors.ts";
import { queryClient, trpc } from "./trpc.ts";

/** Signs out and forgets everything cached for this user. The caller navigates to /login. */
export async function signOut(): Promise<void> {
  const result = await authClient.signOut();
  if (result.error) throw new Error(result.error.message ?? "Sign-out failed. Try again.");
  resetAnalytics();
  queryClient.clear();
  // Seed "signed out" so /login's guard does not bounce back before a refetch.
  queryClient.setQueryData(trpc.user.me.queryKey(), null);
}

/**
 * Impersonation swaps the session cookie; a full page load is the simplest way to guarantee nothing from
 * the previous identity (cache, realtime socket, analytics) survives.
 */
export async function impersonateUser(userId: string): Promise<void> {
  const result = await authClient.admin.impersonateUser({ userId });
  if (result.error) throw new Error(result.error.message ?? "Could not impersonate this user.");
  resetAnalytics();
  window.location.assign("/");
}

export async function stopImpersonating(): Promise<void> {
  try {
    const result = await authClient.admin.stopImpersonating();
    if (result.error) throw new Error(result.error.message ?? "Could not stop impersonating.");
  } catch (error) {
    throw new Error(errorMessage(error), { cause: error });
  }
  resetAnalytics();
  window.location.assign("/admin");
}
