/**
 * /login: email → 6-digit code (better-auth email OTP). Google appears only when the server has it
 * configured. `?redirect=/path` returns the user where the auth layout found them.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createRoute, redirect, useRouter } from "@tanstack/react-router";
import { type FormEvent, useRef, useState } from "react";

import { Logo } from "../components/logo.tsx";
import { Button } from "../components/ui/button.tsx";
import { ErrorText, TextField } from "../components/ui/field.tsx";
import { authClient } from "../lib/auth-client.ts";
import { useTRPC } from "../lib/trpc.ts";
import { rootRoute } from "./root.tsx";

type LoginSearch = { redirect?: string };

/** Only same-site paths: an open redirect through the login page would be a phishing aid. */
export function safeRedirectPath(value: unknown): string | undefined {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? value : undefined;
}

export const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "login",
  validateSearch: (search: Record<string, unknown>): LoginSearch => {
    const target = safeRedirectPath(search.redirect);
    return target ? { redirect: target } : {};
  },
  beforeLoad: async ({ context, search }) => {
    const me = await context.queryClient.ensureQueryData(context.trpc.user.me.queryOptions());
    if (me) throw redirect({ href: search.redirect ?? "/" });
  },
  component: LoginPage,
});

type Step = { kind: "email" } | { kind: "code"; email: string };

function LoginPage() {
  const trpc = useTRPC();
  const authConfig = useQuery(trpc.user.authConfig.queryOptions());
  const [step, setStep] = useState<Step>({ kind: "email" });

  return (
    <div className="flex min-h-screen flex-col items-center justify-center bg-zinc-50 px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex justify-center">
          <Logo className="text-lg" />
        </div>
        <div className="rounded-xl border border-zinc-200 bg-white p-6 shadow-sm">
          {step.kind === "email" ? (
            <EmailStep onSent={(email) => setStep({ kind: "code", email })} />
          ) : (
            <CodeStep email={step.email} onBack={() => setStep({ kind: "email" })} />
          )}
          {authConfig.data?.google && step.kind === "email" ? <GoogleSignIn /> : null}
        </div>
        {authConfig.data?.codesInServerLog ? (
          <p className="mt-4 text-center text-xs text-zinc-500">
            SMTP_URL is not set, so sign-in codes are printed in the server log.
          </p>
        ) : null}
        {authConfig.data?.emailDelivery === "none" ? (
          <p className="mt-4 text-center text-xs text-amber-800" role="note">
            Sign-in by email is not set up on this server: its administrator must set SMTP_URL.
          </p>
        ) : null}
      </div>
    </div>
  );
}

function EmailStep({ onSent }: { onSent: (email: string) => void }) {
  const [email, setEmail] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    const normalized = email.trim().toLowerCase();
    const result = await authClient.emailOtp.sendVerificationOtp({ email: normalized, type: "sign-in" });
    setPending(false);
    if (result.error) {
      setError(result.error.message ?? "Could not send a code. Try again in a minute.");
      return;
    }
    onSent(normalized);
  };

  return (
    <form onSubmit={(event) => void submit(event)} className="space-y-4">
      <div>
        <h1 className="text-lg font-semibold text-zinc-900">Sign in to os2</h1>
        <p className="mt-1 text-sm text-zinc-600">We'll email you a 6-digit code.</p>
      </div>
      <TextField
        label="Email"
        type="email"
        name="email"
        autoComplete="email"
        required
        autoFocus
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        placeholder="you@example.com"
        error={error}
      />
      <Button type="submit" variant="primary" className="w-full" pending={pending}>
        Send code
      </Button>
    </form>
  );
}

function CodeStep({ email, onBack }: { email: string; onBack: () => void }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const [code, setCode] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [resent, setResent] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    const result = await authClient.signIn.emailOtp({ email, otp: code.trim() });
    if (result.error) {
      setPending(false);
      setError(result.error.message ?? "That code did not work. Check it, or ask for a new one.");
      codeInput.current?.focus();
      return;
    }
    // Everything cached so far belonged to "signed out".
    queryClient.clear();
    const target = safeRedirectPath(new URLSearchParams(window.location.search).get("redirect")) ?? "/";
    await router.navigate({ href: target, replace: true });
  };

  const resend = async () => {
    setError(null);
    const result = await authClient.emailOtp.sendVerificationOtp({ email, type: "sign-in" });
    if (result.error) setError(result.error.message ?? "Could not send a new code.");
    else setResent(true);
  };

  return (
    <form onSubmit={(event) => void submit(event)} className="space-y-4">
      <div>
        <h1 className="text-lg font-semibold text-zinc-900">Check your email</h1>
        <p className="mt-1 text-sm break-words text-zinc-600">
          If <span className="font-medium text-zinc-900">{email}</span> may sign in here, a 6-digit code is on its way.
          It is valid for 5 minutes.
        </p>
      </div>
      <TextField
        ref={codeInput}
        label="Code"
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9]{6}"
        maxLength={6}
        required
        autoFocus
        value={code}
        onChange={(event) => setCode(event.target.value.replace(/\D/g, ""))}
        className="[&_input]:font-mono [&_input]:tracking-[0.4em]"
        error={error}
      />
      <Button type="submit" variant="primary" className="w-full" pending={pending}>
        Sign in
      </Button>
      <div className="flex items-center justify-between text-sm">
        <button type="button" onClick={onBack} className="rounded text-zinc-600 hover:text-zinc-900">
          Use another email
        </button>
        <button type="button" onClick={() => void resend()} className="rounded text-accent-700 hover:text-accent-600">
          {resent ? "Sent again" : "Resend code"}
        </button>
      </div>
    </form>
  );
}

function GoogleSignIn() {
  const [error, setError] = useState<string | null>(null);
  const signIn = async () => {
    const target = safeRedirectPath(new URLSearchParams(window.location.search).get("redirect")) ?? "/";
    const result = await authClient.signIn.social({ provider: "google", callbackURL: target });
    if (result.error) setError(result.error.message ?? "Google sign-in failed.");
  };
  return (
    <div className="mt-5">
      <div className="relative mb-5 text-center text-xs text-zinc-500">
        <span className="absolute inset-x-0 top-1/2 h-px bg-zinc-200" aria-hidden="true" />
        <span className="relative bg-white px-2">or</span>
      </div>
      <Button variant="secondary" className="w-full" onClick={() => void signIn()}>
        <svg viewBox="0 0 24 24" className="size-4" aria-hidden="true">
          <path
            fill="#4285F4"
            d="M22.5 12.3c0-.8-.1-1.5-.2-2.2H12v4.2h5.9a5 5 0 0 1-2.2 3.3v2.7h3.6c2-1.9 3.2-4.7 3.2-8z"
          />
          <path
            fill="#34A853"
            d="M12 23c3 0 5.5-1 7.3-2.7l-3.6-2.7c-1 .7-2.2 1.1-3.7 1.1-2.9 0-5.3-1.9-6.2-4.5H2.1v2.8A11 11 0 0 0 12 23z"
          />
          <path fill="#FBBC05" d="M5.8 14.2a6.6 6.6 0 0 1 0-4.3V7.1H2.1a11 11 0 0 0 0 9.9z" />
          <path
            fill="#EA4335"
            d="M12 5.4c1.6 0 3.1.6 4.2 1.6l3.2-3.2A11 11 0 0 0 2.1 7.1l3.7 2.8C6.7 7.3 9.1 5.4 12 5.4z"
          />
        </svg>
        Continue with Google
      </Button>
      {error ? <ErrorText className="mt-2">{error}</ErrorText> : null}
    </div>
  );
}
