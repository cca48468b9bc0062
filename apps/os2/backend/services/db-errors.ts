/**
 * The database errors a caller can provoke, said as domain errors (services/errors.ts's `asDomainError`
 * turns them into `DomainError`s, so tRPC answers 409 or 400): a unique violation (two requests racing for
 * one name, or a check the service does not make) is a conflict naming what is taken, and a value the
 * database cannot hold is a bad request. These sit behind the input schemas and the services' own checks
 * as a last line of defence; anything else from the database stays an unexpected (logged, 500) error.
 *
 * Drivers differ: postgres.js raises `PostgresError` with `constraint_name`, PGlite its `DatabaseError`
 * with `constraint`; Drizzle wraps either in `DrizzleQueryError`, so the cause chain is walked.
 */
/** SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html) mapped here. */
export const PG_UNIQUE_VIOLATION = "23505";
export const PG_FOREIGN_KEY_VIOLATION = "23503";

type DatabaseErrorFields = {
  code: string;
  constraint?: string;
  detail?: string;
  table?: string;
};

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The driver's error somewhere in the cause chain (a SQLSTATE `code` beside a `severity`), else null. */
export function databaseErrorOf(error: unknown): DatabaseErrorFields | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current && typeof current === "object"; depth++) {
    const fields = current as Record<string, unknown>;
    if (typeof fields.code === "string" && SQLSTATE.test(fields.code) && "severity" in fields) {
      const text = (key: string) => (typeof fields[key] === "string" ? fields[key] : undefined);
      return {
        code: fields.code,
        ...optional("constraint", text("constraint_name") ?? text("constraint")),
        ...optional("detail", text("detail")),
        ...optional("table", text("table_name") ?? text("table")),
      };
    }
    current = fields.cause;
  }
  return null;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const found = databaseErrorOf(error);
  return found?.code === PG_UNIQUE_VIOLATION && (constraint === undefined || found.constraint === constraint);
}

/**
 * The last value of a unique violation's detail, `Key (project_id, name)=(prj_…, brave-otter) already
 * exists.` → `brave-otter`. Only when the columns and values line up one to one (a value holding ", "
 * would not), else undefined: the message then names only the kind of thing.
 */
export function takenValue(detail: string | undefined): string | undefined {
  const match = /^Key \((.+)\)=\((.*)\) already exists\.?$/s.exec(detail ?? "");
  if (!match) return undefined;
  const columns = (match[1] ?? "").split(", ");
  const values = (match[2] ?? "").split(", ");
  if (columns.length !== values.length) return undefined;
  const value = values.at(-1);
  return value && value.length <= 100 ? value : undefined;
}

/** What each unique constraint guards, said to the caller: what is taken and what to do instead. */
const UNIQUE_MESSAGES: Record<string, (value: string | undefined) => string> = {
  organization_slug_unique: (slug) => `The organization slug ${slug ? `"${slug}" ` : ""}is taken: choose another slug.`,
  project_org_slug_uq: (slug) =>
    `The project slug ${slug ? `"${slug}" ` : ""}is taken in this organization: choose another slug.`,
  user_email_unique: (email) =>
    `An account with ${email ? `the email ${email}` : "this email"} already exists: use that account or another email.`,
  membership_org_user_uq: () => "This person is already a member of this organization.",
  machine_project_name_uq: (name) =>
    `A machine ${name ? `named ${name} ` : "with this name "}already exists in this project: choose another name.`,
  env_var_project_key_uq: (key) =>
    `The variable ${key ?? "with this key"} is already set in this project: set it again to change its value.`,
  env_var_machine_key_uq: (key) =>
    `The variable ${key ?? "with this key"} is already set for this machine: set it again to change its value.`,
  project_access_token_token_hash_unique: () =>
    "A token with the same secret already exists (a one-in-2^256 collision): create the token again.",
};

/** SQLSTATEs of values the database cannot hold, each said to the caller. */
const DATA_MESSAGES: Record<string, string> = {
  // 22021 character_not_in_repertoire (NUL in text), 22P05 untranslatable_character.
  "22021": "A text field holds a character the database cannot store (such as NUL): remove it and try again.",
  "22P05": "A text field holds a character the database cannot store (such as NUL): remove it and try again.",
  "22001": "A value is longer than the database allows: shorten it and try again.",
  "22003": "A number is out of the range the database allows: use a smaller one.",
  "22P02": "A value is not in the form the database expects: check the fields' types.",
  "22007": "A date or time is not in a form the database understands.",
  "22008": "A date or time is out of the range the database allows.",
};

/** How a database error a caller can provoke reads to them (a kind and a message), else null. */
export function describeDatabaseError(error: unknown): { kind: "conflict" | "bad_request"; message: string } | null {
  const found = databaseErrorOf(error);
  if (!found) return null;
  if (found.code === PG_UNIQUE_VIOLATION) {
    const known = found.constraint ? UNIQUE_MESSAGES[found.constraint] : undefined;
    const what = found.table ? found.table.replaceAll("_", " ") : "record";
    return {
      kind: "conflict",
      message:
        known?.(takenValue(found.detail)) ?? `A ${what} with these values already exists: change them and try again.`,
    };
  }
  if (found.code === PG_FOREIGN_KEY_VIOLATION) {
    // A check-then-insert lost a race with a delete (a machine removed while one of its variables was set).
    return { kind: "conflict", message: "Something this refers to was deleted meanwhile: reload and try again." };
  }
  const data = DATA_MESSAGES[found.code];
  return data ? { kind: "bad_request", message: data } : null;
}
