/**
 * Opens the database: embedded PGlite under the data directory when no DATABASE_URL is given (the
 * zero-setup default), a PostgreSQL server otherwise. Applies the committed migrations before returning.
 * With PostgreSQL, also exposes LISTEN/NOTIFY so several os2 instances can share realtime invalidations.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** The handle inside `db.transaction(async (tx) => …)`; helpers that run in or out of one take `Queryable`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Queryable = Db | Tx;

export type PubSub = {
  listen(channel: string, onMessage: (payload: string) => void): Promise<void>;
  notify(channel: string, payload: string): Promise<void>;
};

/**
 * Leadership among the os2 instances sharing this database: `check()` answers whether this process leads
 * (taking the lead when nobody holds it). On PostgreSQL it is a session advisory lock on a connection of
 * its own, so a leader that dies (or loses its connection) releases it at once; PGlite is in-process, so
 * its only instance always leads.
 */
export type Leadership = { check(): Promise<boolean>; release(): Promise<void> };

export type DatabaseHandle = {
  db: Db;
  kind: "pglite" | "postgres";
  /** Present only for PostgreSQL: PGlite is in-process, so there is no other instance to tell. */
  pubsub?: PubSub;
  leadership: Leadership;
  close(): Promise<void>;
};

export type OpenDatabaseOptions = {
  databaseUrl?: string;
  dataDir: string;
};

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

/**
 * PGlite runs one Postgres backend inside this process, so two of Postgres's server defaults only cost
 * start time: 128 MB of shared buffers are zeroed (after growing the wasm memory past its initial 128 MB)
 * at every open, and shared memory is sized for 100 connections where there is one. 32 MB of buffers hold
 * the hot pages of an installation (the OS page cache keeps the rest close); together this takes about
 * 100 ms of CPU off each start. Command-line settings win over the data dir's postgresql.conf.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB", "-c", "max_connections=10"];

/**
 * PGlite's Postgres is 9 MB of wasm, which V8 compiles on background threads. Left to PGlite, the compile
 * starts only after its own set-up steps, which in the production entry wait behind the loading of the
 * rest of the server; started here at once, it runs on the other core meanwhile. Compiled once a process.
 */
let pgliteWasm: Promise<WebAssembly.Module> | undefined;
function compilePgliteWasm(): Promise<WebAssembly.Module> {
  pgliteWasm ??= WebAssembly.compile(
    fs.readFileSync(fileURLToPath(import.meta.resolve("@electric-sql/pglite/pglite.wasm"))),
  );
  return pgliteWasm;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openPglite(path.join(options.dataDir, "pglite"));
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const wasm = compilePgliteWasm();
  fs.mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir, { startParams: PGLITE_START_PARAMS, pgliteWasmModule: await wasm });
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  const leadership: Leadership = { check: async () => true, release: async () => {} };
  return { db: db as unknown as Db, kind: "pglite", leadership, close: () => client.close() };
}

/**
 * How postgres.js reaches the server while it is down. Its default reconnect backoff grows 3× per failed
 * connect up to 20 s, and queries wait out the delay: ten seconds into an outage a request hung for 10 to
 * 20 s, and the first one after the server came back waited as long. Capped at 1 s, a request during an
 * outage is answered 503 within about a second, and os2 is back about a second after the database. A
 * server that does not answer a connect at all (a dropped route) is given up on after 5 s.
 */
const POSTGRES_CONNECTION = {
  connect_timeout: 5,
  backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
  onnotice: () => {},
};

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const sql = postgres(url, { ...POSTGRES_CONNECTION, max: 10 });
  const db = drizzlePostgres(sql, { schema });
  // Several instances may start at once against one server: serialise migrations with an advisory lock
  // held on a dedicated connection while the migrator runs on the pool.
  const lock = postgres(url, { ...POSTGRES_CONNECTION, max: 1 });
  try {
    await lock`select pg_advisory_lock(7283461)`;
    await migratePostgres(db, { migrationsFolder });
  } finally {
    await lock.end({ timeout: 5 });
  }
  const pubsub: PubSub = {
    async listen(channel, onMessage) {
      await sql.listen(channel, onMessage);
    },
    async notify(channel, payload) {
      await sql.notify(channel, payload);
    },
  };
  const leadership = postgresLeadership(url);
  return {
    db: db as unknown as Db,
    kind: "postgres",
    pubsub,
    leadership,
    close: async () => {
      await leadership.release();
      await sql.end({ timeout: 5 });
    },
  };
}

/** The reconciler's lock: (os2, reconciler) as the two-key form, so pg_locks shows it as classid/objid. */
const LEADER_LOCK = [7283461, 1] as const;

function postgresLeadership(url: string): Leadership {
  // One connection that does nothing else: the lock lives exactly as long as this session.
  const session = postgres(url, { ...POSTGRES_CONNECTION, max: 1, idle_timeout: 0 });
  return {
    async check() {
      const [held] = await session<{ held: boolean }[]>`
        select exists (
          select 1 from pg_locks
          where locktype = 'advisory' and pid = pg_backend_pid()
            and classid = ${LEADER_LOCK[0]} and objid = ${LEADER_LOCK[1]} and granted
        ) as held`;
      if (held?.held) return true;
      const [taken] = await session<{ taken: boolean }[]>`
        select pg_try_advisory_lock(${LEADER_LOCK[0]}::int, ${LEADER_LOCK[1]}::int) as taken`;
      return taken?.taken === true;
    },
    async release() {
      await session.end({ timeout: 2 }).catch(() => undefined);
    },
  };
}
