/**
 * Delivers sign-in codes: over SMTP when SMTP_URL is set, otherwise to the server log so a fresh local
 * install works with nothing configured.
 */
import nodemailer from "nodemailer";

export type Mailer = { sendSignInCode(email: string, code: string): Promise<void> };

export function createMailer(options: { smtpUrl?: string; from: string; log: (line: string) => void }): Mailer {
  if (!options.smtpUrl) {
    return {
      async sendSignInCode(email, code) {
        options.log(`[auth] sign-in code for ${email}: ${code} (SMTP_URL is not set, so codes are logged here)`);
      },
    };
  }
  const transport = nodemailer.createTransport(options.smtpUrl);
  return {
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
