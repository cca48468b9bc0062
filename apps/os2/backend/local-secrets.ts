/**
 * Zero-setup secrets: when ENCRYPTION_SECRET or BETTER_AUTH_SECRET is not configured outside production,
 * os2 generates one once and keeps it in the data directory (mode 0600), with a warning. Losing that file
 * makes stored env var values unreadable, which is why production must set the variables explicitly.
 */
import fs from "node:fs";
import path from "node:path";

import { randomToken } from "./crypto.ts";

type SecretName = "ENCRYPTION_SECRET" | "BETTER_AUTH_SECRET";

export function loadOrCreateLocalSecret(dataDir: string, name: SecretName, warn: (message: string) => void): string {
  const file = path.join(dataDir, "secrets.json");
  const stored = readSecrets(file);
  const existing = stored[name];
  if (existing) return existing;
  const secret = randomToken(32);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ ...stored, [name]: secret }, null, 2), { mode: 0o600 });
  warn(`${name} is not set: generated one and stored it in ${file}. Set ${name} explicitly in production.`);
  return secret;
}

function readSecrets(file: string): Partial<Record<SecretName, string>> {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}
