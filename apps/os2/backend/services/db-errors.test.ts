/** Database errors a caller can provoke read as conflicts and bad requests, whichever driver raised them. */
import { describe, expect, it } from "vitest";

import { describeDatabaseError, isUniqueViolation, takenValue } from "./db-errors.ts";
import { asDomainError } from "./errors.ts";

/** The shapes the two drivers raise, wrapped the way Drizzle wraps them (its DrizzleQueryError's `cause`). */
const postgresJs = (fields: Record<string, string>) =>
  Object.assign(new Error("Failed query: insert …"), {
    cause: Object.assign(new Error("driver"), { name: "PostgresError", severity: "ERROR", ...fields }),
  });
const pglite = (fields: Record<string, string>) =>
  Object.assign(new Error("Failed query: insert …"), {
    cause: Object.assign(new Error("driver"), { name: "error", severity: "ERROR", ...fields }),
  });

describe("database errors", () => {
  it("reads a unique violation from postgres.js (constraint_name) and PGlite (constraint) alike", () => {
    const fromPostgres = postgresJs({
      code: "23505",
      constraint_name: "machine_project_name_uq",
      detail: "Key (project_id, name)=(prj_01, brave-otter) already exists.",
    });
    const fromPglite = pglite({
      code: "23505",
      constraint: "machine_project_name_uq",
      detail: "Key (project_id, name)=(prj_01, brave-otter) already exists.",
    });
    for (const error of [fromPostgres, fromPglite]) {
      expect(isUniqueViolation(error, "machine_project_name_uq")).toBe(true);
      expect(describeDatabaseError(error)).toEqual({
        kind: "conflict",
        message: "A machine named brave-otter already exists in this project: choose another name.",
      });
    }
  });

  it("turns every constraint the schema has into a conflict that names what is taken", () => {
    const cases: Array<[string, string, RegExp]> = [
      ["organization_slug_unique", "Key (slug)=(acme) already exists.", /organization slug "acme" is taken/],
      [
        "project_org_slug_uq",
        "Key (organization_id, slug)=(org_1, alpha) already exists.",
        /project slug "alpha" is taken in this organization/,
      ],
      ["user_email_unique", "Key (email)=(ada@example.com) already exists.", /ada@example\.com already exists/],
      ["membership_org_user_uq", "Key (organization_id, user_id)=(org_1, usr_1) already exists.", /already a member/],
      [
        "env_var_project_key_uq",
        "Key (project_id, key)=(prj_1, API_KEY) already exists.",
        /API_KEY is already set in this project/,
      ],
      [
        "env_var_machine_key_uq",
        "Key (project_id, machine_id, key)=(prj_1, mach_1, API_KEY) already exists.",
        /API_KEY is already set for this machine/,
      ],
      ["project_access_token_token_hash_unique", "Key (token_hash)=(ab12) already exists.", /create the token again/],
    ];
    for (const [constraint, detail, message] of cases) {
      const mapped = asDomainError(pglite({ code: "23505", constraint, detail }));
      expect(mapped?.kind, constraint).toBe("conflict");
      expect(mapped?.message, constraint).toMatch(message);
    }
  });

  it("names only the kind of thing when the detail cannot be read, and any other table generically", () => {
    expect(describeDatabaseError(pglite({ code: "23505", constraint: "machine_project_name_uq" }))?.message).toBe(
      "A machine with this name already exists in this project: choose another name.",
    );
    expect(
      describeDatabaseError(pglite({ code: "23505", constraint: "some_new_uq", table: "preview_token" }))?.message,
    ).toBe("A preview token with these values already exists: change them and try again.");
  });

  it("answers values the database cannot hold as bad requests", () => {
    for (const code of ["22021", "22P05", "22001", "22003"]) {
      expect(asDomainError(postgresJs({ code }))?.kind, code).toBe("bad_request");
    }
    expect(asDomainError(postgresJs({ code: "22021" }))?.message).toMatch(/NUL/);
  });

  it("leaves everything else unexpected", () => {
    expect(asDomainError(postgresJs({ code: "42P01" }))).toBeNull(); // undefined_table: a bug, not the caller
    expect(asDomainError(Object.assign(new Error("connect ECONNREFUSED"), { code: "EPIPE" }))).toBeNull();
    expect(asDomainError(new Error("No values to set"))).toBeNull();
  });

  it("reads the taken value only when columns and values line up", () => {
    expect(takenValue("Key (project_id, name)=(prj_1, brave-otter) already exists.")).toBe("brave-otter");
    expect(takenValue("Key (name)=(a, b) already exists.")).toBeUndefined();
    expect(takenValue(undefined)).toBeUndefined();
    expect(takenValue("something else")).toBeUndefined();
  });
});
