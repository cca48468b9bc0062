/**
 * Project environment variables, encrypted at rest (AES-256-GCM). Lists never return values; only the
 * machine env builder decrypts them. A var with a machineId overrides the project-wide value for that
 * machine only.
 */
import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";

import type { Encryptor } from "../crypto.ts";
import { MASKED_VALUE } from "../crypto.ts";
import type { Db } from "../db/client.ts";
import { machine } from "../db/schema/machine.ts";
import { project } from "../db/schema/project.ts";
import { projectEnvVar } from "../db/schema/project-env-var.ts";
import { newId } from "../ids.ts";
import { DomainError, notFound } from "./errors.ts";

export const ENV_KEY_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

/** Keys os2 sets on every machine (machines/machine-env.ts); a user's value for one would never apply. */
export const SYSTEM_ENV_KEYS = ["OS2_MACHINE_ID", "OS2_PROJECT_ID", "OS2_STAGE", "MACHINE_AUTH_TOKEN"] as const;

export function isSystemEnvKey(key: string): boolean {
  return (SYSTEM_ENV_KEYS as readonly string[]).includes(key);
}
export const ENV_VALUE_MAX_BYTES = 64 * 1024;

/** Values stay hidden; `empty` says whether there is one, so an empty value is not shown as a mask. */
export async function listEnvVars(db: Db, encryptor: Encryptor, projectId: string) {
  const rows = await db
    .select({
      id: projectEnvVar.id,
      key: projectEnvVar.key,
      machineId: projectEnvVar.machineId,
      type: projectEnvVar.type,
      createdAt: projectEnvVar.createdAt,
      updatedAt: projectEnvVar.updatedAt,
      valueEncrypted: projectEnvVar.valueEncrypted,
    })
    .from(projectEnvVar)
    .where(eq(projectEnvVar.projectId, projectId))
    .orderBy(asc(projectEnvVar.key));
  return rows.map(({ valueEncrypted, ...row }) => ({
    ...row,
    maskedValue: MASKED_VALUE,
    empty: encryptor.decrypt(valueEncrypted) === "",
  }));
}

/**
 * Sets a variable: a key already set in that scope (the project, or one machine's overrides) gets the new
 * value. One statement (INSERT … ON CONFLICT DO UPDATE on the scope's unique index), so two concurrent sets
 * of one new key end as one insert and one update, never a duplicate or a failure.
 */
export async function setEnvVar(
  db: Db,
  encryptor: Encryptor,
  input: { projectId: string; key: string; value: string; machineId?: string | null },
) {
  if (isSystemEnvKey(input.key)) {
    throw new DomainError("bad_request", `${input.key} is set by os2 on every machine and cannot be overridden.`);
  }
  const machineId = input.machineId ?? null;
  if (machineId) {
    const [owner] = await db
      .select({ id: machine.id })
      .from(machine)
      .where(and(eq(machine.id, machineId), eq(machine.projectId, input.projectId)));
    if (!owner) throw notFound("Machine");
  }
  const valueEncrypted = encryptor.encrypt(input.value);
  const id = newId("envVar");
  // The targets match the partial unique indexes env_var_project_key_uq and env_var_machine_key_uq.
  const target = machineId
    ? {
        target: [projectEnvVar.projectId, projectEnvVar.machineId, projectEnvVar.key],
        targetWhere: isNotNull(projectEnvVar.machineId),
      }
    : { target: [projectEnvVar.projectId, projectEnvVar.key], targetWhere: isNull(projectEnvVar.machineId) };
  const [row] = await db
    .insert(projectEnvVar)
    .values({ id, projectId: input.projectId, key: input.key, valueEncrypted, machineId })
    .onConflictDoUpdate({ ...target, set: { valueEncrypted, updatedAt: new Date() } })
    .returning({ id: projectEnvVar.id });
  if (!row) throw new Error("env var upsert returned no row");
  await markEnvChanged(db, input.projectId, machineId);
  // On conflict the existing row keeps its id, so a new id means a new variable.
  return { id: row.id, key: input.key, machineId, created: row.id === id };
}

export async function deleteEnvVar(db: Db, input: { projectId: string; id: string }) {
  const [deleted] = await db
    .delete(projectEnvVar)
    .where(and(eq(projectEnvVar.id, input.id), eq(projectEnvVar.projectId, input.projectId)))
    .returning({ id: projectEnvVar.id, machineId: projectEnvVar.machineId });
  if (!deleted) throw notFound("Environment variable");
  await markEnvChanged(db, input.projectId, deleted.machineId);
}

/** A project-wide change concerns every machine of the project; an override, only its machine. */
async function markEnvChanged(db: Db, projectId: string, machineId: string | null) {
  const now = new Date();
  if (machineId) await db.update(machine).set({ envChangedAt: now }).where(eq(machine.id, machineId));
  else await db.update(project).set({ envChangedAt: now }).where(eq(project.id, projectId));
}

/** Project vars, then the machine's overrides on top. Decrypts: call only when building a machine's env. */
export async function resolveEnvForMachine(
  db: Db,
  encryptor: Encryptor,
  input: { projectId: string; machineId: string },
) {
  const rows = await db.select().from(projectEnvVar).where(eq(projectEnvVar.projectId, input.projectId));
  const env: Record<string, string> = {};
  for (const row of rows.filter((r) => r.machineId === null)) env[row.key] = encryptor.decrypt(row.valueEncrypted);
  for (const row of rows.filter((r) => r.machineId === input.machineId))
    env[row.key] = encryptor.decrypt(row.valueEncrypted);
  return env;
}
