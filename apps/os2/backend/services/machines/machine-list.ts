/**
 * The project's machines a page at a time, newest first: what list views show of each (no credential, no
 * provider metadata) and an opaque cursor to the next page.
 *
 * Keyset pagination on (created_at, id), both descending, read through the (project_id, created_at, id)
 * index: a page costs the same at the end of the list as at the start, and a walk visits every machine
 * that existed when it began exactly once, however many are created (they sort before the cursor) or
 * deleted meanwhile. The cursor carries the last row's created_at to the microsecond (a JavaScript Date
 * holds milliseconds, PostgreSQL's now() microseconds), its id, and the project it belongs to, so a cursor
 * of one project is refused by another.
 */
import { API_MACHINE_LIST_DEFAULT_LIMIT, API_MACHINE_LIST_MAX_LIMIT } from "@os2/protocol";
import { and, desc, eq, ne, or, type Placeholder, type SQL, sql } from "drizzle-orm";

import type { Db } from "../../db/client.ts";
import { machine } from "../../db/schema/machine.ts";
import { project } from "../../db/schema/project.ts";
import { DomainError } from "../errors.ts";
import { envPendingRestart, type PublicMachine, toPublicMachine } from "./machine-row.ts";

/** The same bounds for the dashboard's API and the HTTP API (@os2/protocol). */
export const MACHINE_LIST_DEFAULT_LIMIT = API_MACHINE_LIST_DEFAULT_LIMIT;
export const MACHINE_LIST_MAX_LIMIT = API_MACHINE_LIST_MAX_LIMIT;
/** Far longer than any cursor this module makes (about 110 characters); anything longer is refused unread. */
export const MACHINE_CURSOR_MAX_LENGTH = 256;

/** What the list shows of a machine. */
export type MachineListItem = {
  id: string;
  name: string;
  type: "local-docker" | "daytona";
  desiredState: (typeof machine.$inferSelect)["desiredState"];
  observedState: (typeof machine.$inferSelect)["observedState"];
  /** The provider's handle (container or sandbox id); the dashboard tells "recreate" from "start" by it. */
  externalId: string | null;
  lastError: string | null;
  cpuMillis: number | null;
  memoryMb: number | null;
  pids: number | null;
  diskMb: number | null;
  createdAt: Date;
  readyAt: Date | null;
  /** Running with an older environment than the current one (see machine-row.ts). */
  envPendingRestart: boolean;
};

export type MachineListPage = { machines: MachineListItem[]; nextCursor: string | null };

/** Where a page starts: after this machine, in this project. */
export type MachineCursor = { projectId: string; createdAt: string; id: string };

const CURSOR_VERSION = "m1";
const PROJECT_ID = /^prj_[0-9a-z]{26}$/;
const MACHINE_ID = /^mach_[0-9a-z]{26}$/;
/** created_at as PostgreSQL renders it below: UTC, microseconds. */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeMachineCursor(cursor: MachineCursor): string {
  return Buffer.from([CURSOR_VERSION, cursor.projectId, cursor.createdAt, cursor.id].join(" ")).toString("base64url");
}

/** The cursor's content, or null when it is not one this module made. */
export function decodeMachineCursor(text: string): MachineCursor | null {
  if (text.length > MACHINE_CURSOR_MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const parts = Buffer.from(text, "base64url").toString("utf8").split(" ");
  if (parts.length !== 4) return null;
  const [version, projectId, createdAt, id] = parts as [string, string, string, string];
  if (version !== CURSOR_VERSION || !PROJECT_ID.test(projectId) || !MACHINE_ID.test(id)) return null;
  if (!CURSOR_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt))) return null;
  const cursor = { projectId, createdAt, id };
  // One spelling per cursor: base64 that decodes the same with stray bits or characters is not one of ours.
  return encodeMachineCursor(cursor) === text ? cursor : null;
}

/** The message for a cursor that is not this list's; both APIs put it on the `cursor` field. */
export const BAD_CURSOR_MESSAGE =
  "Not a cursor of this list: pass nextCursor exactly as the previous page returned it, or omit it for the first page";

/**
 * The later of the machine's own env change and its project's, read in the same statement (an uncorrelated
 * subquery, evaluated once), so the list never answers from a project row older than the machines.
 */
const envChangedAt = (projectId: string | Placeholder) =>
  sql<Date | null>`greatest(${machine.envChangedAt}, (select ${project.envChangedAt} from ${project} where ${project.id} = ${projectId}))`.mapWith(
    machine.envChangedAt,
  );

/** What a page query reads of each machine: the list item, less what is computed from the rest. */
const pageColumns = {
  id: machine.id,
  name: machine.name,
  type: machine.type,
  desiredState: machine.desiredState,
  observedState: machine.observedState,
  externalId: machine.externalId,
  lastError: machine.lastError,
  cpuMillis: machine.cpuMillis,
  memoryMb: machine.memoryMb,
  pids: machine.pids,
  diskMb: machine.diskMb,
  createdAt: machine.createdAt,
  readyAt: machine.readyAt,
  envChangedAt: envChangedAt(sql.placeholder("projectId")),
  envAppliedAt: machine.envAppliedAt,
  cursorAt: sql<string>`to_char(${machine.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
};

/**
 * The two page queries (the first page, and a page after a cursor), prepared once per database: their SQL
 * is built once and, on PostgreSQL, parsed and planned once per connection. Archived machines are left out
 * unless `includeArchived`, a parameter (a filter on the index walk, not a different plan).
 */
function preparePageQueries(db: Db) {
  const base = (after: SQL | undefined, name: string) =>
    db
      .select(pageColumns)
      .from(machine)
      .where(
        and(
          eq(machine.projectId, sql.placeholder("projectId")),
          // A machine being deleted stays listed (as deleting, or as stuck in error) until its row is gone.
          or(sql`${sql.placeholder("includeArchived")}::boolean`, ne(machine.desiredState, "archived")),
          after,
        ),
      )
      .orderBy(desc(machine.createdAt), desc(machine.id))
      .limit(sql.placeholder("limit"))
      .prepare(name);
  return {
    first: base(undefined, "machine_list_first"),
    after: base(
      sql`(${machine.createdAt}, ${machine.id}) < (${sql.placeholder("afterCreatedAt")}::timestamptz, ${sql.placeholder("afterId")})`,
      "machine_list_after",
    ),
  };
}

/** A project's machines for list views: pages, one machine with its env state, counts. */
export class MachineList {
  private queries: ReturnType<typeof preparePageQueries> | undefined;
  private readonly statistics: MachineTableStatistics;

  constructor(
    private readonly db: Db,
    onStatisticsError: (error: unknown) => void,
  ) {
    this.statistics = new MachineTableStatistics(db, onStatisticsError);
  }

  /** A page of the project's machines, newest first; `nextCursor` is null on the last. */
  async page(
    projectId: string,
    options: { includeArchived?: boolean; limit?: number; cursor?: MachineCursor | undefined } = {},
  ): Promise<MachineListPage> {
    const limit = options.limit ?? MACHINE_LIST_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MACHINE_LIST_MAX_LIMIT)
      throw new DomainError("bad_request", `limit: Use 1 to ${MACHINE_LIST_MAX_LIMIT}`);
    const cursor = options.cursor;
    // A cursor of another project's list would only reorder this one; refusing it says the caller mixed them up.
    if (cursor && cursor.projectId !== projectId) throw new DomainError("bad_request", `cursor: ${BAD_CURSOR_MESSAGE}`);
    this.statistics.refreshIfDue();
    this.queries ??= preparePageQueries(this.db);
    const parameters = { projectId, includeArchived: options.includeArchived ?? false, limit: limit + 1 };
    const rows = cursor
      ? await this.queries.after.execute({ ...parameters, afterCreatedAt: cursor.createdAt, afterId: cursor.id })
      : await this.queries.first.execute(parameters);
    const count = Math.min(rows.length, limit);
    const machines: MachineListItem[] = new Array<MachineListItem>(count);
    for (let index = 0; index < count; index++) {
      const row = rows[index] as (typeof rows)[number];
      machines[index] = {
        id: row.id,
        name: row.name,
        type: row.type,
        desiredState: row.desiredState,
        observedState: row.observedState,
        externalId: row.externalId,
        lastError: row.lastError,
        cpuMillis: row.cpuMillis,
        memoryMb: row.memoryMb,
        pids: row.pids,
        diskMb: row.diskMb,
        createdAt: row.createdAt,
        readyAt: row.readyAt,
        envPendingRestart: envPendingRestart(row, null),
      };
    }
    const last = rows[count - 1];
    return {
      machines,
      nextCursor:
        rows.length > limit && last ? encodeMachineCursor({ projectId, createdAt: last.cursorAt, id: last.id }) : null,
    };
  }

  view(projectId: string, machineId: string) {
    return viewMachine(this.db, projectId, machineId);
  }

  counts(projectId: string) {
    return countMachines(this.db, projectId);
  }
}

/** One machine, without its credential, and whether it waits for a restart to apply its env; null if none. */
export async function viewMachine(
  db: Db,
  projectId: string,
  machineId: string,
): Promise<(PublicMachine & { envPendingRestart: boolean }) | null> {
  const [found] = await db
    .select({ row: machine, envChangedAt: envChangedAt(projectId) })
    .from(machine)
    .where(and(eq(machine.id, machineId), eq(machine.projectId, projectId)));
  if (!found) return null;
  const row = toPublicMachine(found.row);
  return { ...row, envPendingRestart: envPendingRestart({ ...row, envChangedAt: found.envChangedAt }, null) };
}

export type MachineCounts = { active: number; running: number; archived: number };

/** How many machines the project has: not archived (`active`), of those running, and archived. */
export async function countMachines(db: Db, projectId: string): Promise<MachineCounts> {
  const archived = sql`${machine.desiredState} = 'archived'`;
  const [row] = await db
    .select({
      active: sql<number>`cast(count(*) filter (where not ${archived}) as int)`,
      running: sql<number>`cast(count(*) filter (where not ${archived} and ${machine.observedState} = 'running') as int)`,
      archived: sql<number>`cast(count(*) filter (where ${archived}) as int)`,
    })
    .from(machine)
    .where(eq(machine.projectId, projectId));
  return row ?? { active: 0, running: 0, archived: 0 };
}

/** At most this often the list refreshes the planner's statistics of the machine table. */
export const MACHINE_STATISTICS_EVERY_MS = 5 * 60_000;

/**
 * Keeps the planner's statistics of the machine table fresh enough for the list's plan. Without them it
 * guesses that a project has a handful of machines and reads all of them, sorts and keeps a page (a
 * bitmap scan: 1,000 rows for a page of 50) instead of walking the (project_id, created_at, id) index.
 * PostgreSQL's autovacuum analyzes a table only a minute or more after it changed; embedded PGlite never
 * does. So the first list after start, and then one at most every MACHINE_STATISTICS_EVERY_MS, runs
 * `ANALYZE machine` in the background (it samples at most 30,000 rows, so it stays cheap; it does not
 * block reads or writes).
 */
export class MachineTableStatistics {
  private dueAt = 0;
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly onError: (error: unknown) => void,
    private readonly everyMs = MACHINE_STATISTICS_EVERY_MS,
  ) {}

  refreshIfDue(now = Date.now()): void {
    if (this.running || now < this.dueAt) return;
    this.running = true;
    this.dueAt = now + this.everyMs;
    this.db
      .execute(sql`analyze machine`)
      .catch(this.onError)
      .finally(() => {
        this.running = false;
      });
  }
}
