/**
 * Delivers sign-in codes: over SMTP when SMTP_URL is set. Without it, codes go to the server log, but only
 * on local and developer stages, so a fresh local install works with nothing configured; on any other stage
 * a code is never written anywhere but into a mail, and sign-in says that mail is not configured.
 */
import nodemailer from "nodemailer";

export type EmailDelivery = "smtp" | "log" | "none";
export type Mailer = { delivery: EmailDelivery; sendSignInCode(email: string, code: string): Promise<void> };

export const NO_MAIL_MESSAGE = "Sign-in by email is not set up on this server: its administrator must set SMTP_URL.";

export function createMailer(options: {
  smtpUrl?: string | undefined;
  from: string;
  /** Whether codes may go to the server log when there is no SMTP (local and developer stages only). */
  logCodes: boolean;
  log: (line: string) => void;
}): Mailer {
  if (!options.smtpUrl && options.logCodes) {
    return {
      delivery: "log",
      async sendSignInCode(email, code) {
        options.log(`[auth] sign-in code for ${email}: ${code} (SMTP_URL is not set, so codes are logged here)`);
      },
    };
  }
  if (!options.smtpUrl) {
    return {
      delivery: "none",
      async sendSignInCode() {
        throw new Error(NO_MAIL_MESSAGE);
      },
    };
  }
  const transport = nodemailer.createTransport(options.smtpUrl);
  return {
    delivery: "smtp",
    async sendSignInCode(email, code) {
      await transport.sendMail({
        from: options.from,
        to: email,
        subject: `Your os2 sign-in code: ${code}`,
        text: `Your os2 sign-in code is ${code}. It expires in 5 minutes.`,
      });
    },
  };
}
