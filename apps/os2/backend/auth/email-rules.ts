/**
 * Who may sign up, and which addresses are test addresses.
 * ALLOW_SIGNUP_FROM_EMAILS is a comma list of exact addresses and `*@domain` wildcards, compared
 * case-insensitively. Existing users can always sign in; the list only gates creating new accounts.
 */

export const TEST_OTP_CODE = "424242";

export type SignupAllowlist = { exact: Set<string>; domains: Set<string>; anyone: boolean };

export function parseSignupAllowlist(raw: string | undefined, stage: string): SignupAllowlist {
  const source = raw ?? (stage === "prd" ? "" : "*@example.com");
  const list: SignupAllowlist = { exact: new Set(), domains: new Set(), anyone: false };
  for (const entry of source.split(",").map((part) => part.trim().toLowerCase())) {
    if (!entry) continue;
    if (entry === "*") list.anyone = true;
    else if (entry.startsWith("*@")) list.domains.add(entry.slice(2));
    else list.exact.add(entry);
  }
  return list;
}

export function isSignupAllowed(list: SignupAllowlist, email: string): boolean {
  const normalized = email.trim().toLowerCase();
  if (list.anyone || list.exact.has(normalized)) return true;
  const domain = normalized.split("@")[1];
  return domain !== undefined && list.domains.has(domain);
}

/**
 * Whether the fixed test code works: only where explicitly enabled (OS2_TEST_OTP=true), and by default on
 * local (`local-…`) and developer (`dev-…`) stages. Everywhere else (`stg`, `prd`, `pr-12`, `production`…)
 * it does not, unless someone turns it on for that deployment on purpose.
 */
export function testOtpEnabled(explicit: boolean | undefined, stage: string): boolean {
  return explicit ?? isLocalStage(stage);
}

/** Stages on a developer's own machine, where codes may be printed to the server log. */
export function isLocalStage(stage: string): boolean {
  return stage.startsWith("local-") || stage.startsWith("dev-");
}

/** `ada+test@example.com`, `ada+e2e-test@…`: a plus tag ending in "test", honoured only when enabled. */
export function isTestEmail(email: string, enabled: boolean): boolean {
  return enabled && /\+[^@]*test@/i.test(email);
}
