/**
 * Realtime invalidations over a WebSocket at /api/ws/realtime. After a mutation succeeds (or the machine
 * reconciler observes a change), `publish` sends `{ type: "invalidate", keys }` to the signed-in members of
 * the organization concerned; the SPA refetches the matching queries.
 *
 * With PostgreSQL, several instances can serve the same users, so publishing goes through NOTIFY and every
 * instance (this one included) delivers to its own sockets on LISTEN. With PGlite there is one instance.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

import { eq } from "drizzle-orm";
import { type WebSocket, WebSocketServer } from "ws";

import type { Db, PubSub } from "../db/client.ts";
import { organizationMembership } from "../db/schema/organization.ts";
import { headersOf } from "../http/node-headers.ts";
import type { Logger } from "../logger.ts";

export const REALTIME_PATH = "/api/ws/realtime";
const CHANNEL = "os2_realtime";

export type RealtimeMessage = { type: "invalidate"; keys: string[] };

export type RealtimeHub = {
  publish(organizationId: string, keys: string[]): void;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  connectedUsers(): number;
  close(): void;
};

export type RealtimeHubOptions = {
  db: Db;
  pubsub?: PubSub;
  log: Logger;
  /** Resolves the signed-in user id from the upgrade request's cookies, or null. */
  authenticate(headers: Headers): Promise<string | null>;
  /**
   * Told of every invalidation of an organization, this instance's and (over NOTIFY) other instances',
   * before any socket is: caches of what changed forget it first, so the refetch it prompts reads fresh.
   */
  onInvalidate?(organizationId: string): void;
};

export async function createRealtimeHub(options: RealtimeHubOptions): Promise<RealtimeHub> {
  const wss = new WebSocketServer({ noServer: true });
  const socketsByUser = new Map<string, Set<WebSocket>>();

  const deliverLocally = async (organizationId: string, keys: string[]) => {
    if (socketsByUser.size === 0) return;
    const members = await options.db
      .select({ userId: organizationMembership.userId })
      .from(organizationMembership)
      .where(eq(organizationMembership.organizationId, organizationId));
    const message = JSON.stringify({ type: "invalidate", keys } satisfies RealtimeMessage);
    for (const { userId } of members) {
      for (const socket of socketsByUser.get(userId) ?? []) {
        if (socket.readyState === socket.OPEN) socket.send(message);
      }
    }
  };

  if (options.pubsub) {
    await options.pubsub.listen(CHANNEL, (payload) => {
      const parsed = parseNotification(payload);
      if (!parsed) return;
      options.onInvalidate?.(parsed.organizationId);
      void deliverLocally(parsed.organizationId, parsed.keys).catch(logFailure);
    });
  }

  function logFailure(error: unknown) {
    options.log.error("realtime delivery failed", { error: String(error) });
  }

  const heartbeat = setInterval(() => {
    for (const client of wss.clients) client.ping();
  }, 30_000);
  heartbeat.unref();

  return {
    publish(organizationId, keys) {
      options.onInvalidate?.(organizationId);
      if (options.pubsub) {
        void options.pubsub.notify(CHANNEL, JSON.stringify({ organizationId, keys })).catch(logFailure);
      } else {
        void deliverLocally(organizationId, keys).catch(logFailure);
      }
    },
    handleUpgrade(request, socket, head) {
      void options
        .authenticate(headersOf(request))
        .then((userId) => {
          if (!userId) {
            socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
            return;
          }
          wss.handleUpgrade(request, socket, head, (ws) => {
            const set = socketsByUser.get(userId) ?? new Set<WebSocket>();
            set.add(ws);
            socketsByUser.set(userId, set);
            ws.on("close", () => {
              set.delete(ws);
              if (set.size === 0) socketsByUser.delete(userId);
            });
            ws.send(JSON.stringify({ type: "ready" }));
          });
        })
        .catch((error: unknown) => {
          logFailure(error);
          socket.destroy();
        });
    },
    connectedUsers: () => socketsByUser.size,
    close() {
      clearInterval(heartbeat);
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

function parseNotification(payload: string): { organizationId: string; keys: string[] } | null {
  try {
    const value: unknown = JSON.parse(payload);
    if (
      typeof value === "object" &&
      value !== null &&
      "organizationId" in value &&
      typeof value.organizationId === "string" &&
      "keys" in value &&
      Array.isArray(value.keys)
    ) {
      return {
        organizationId: value.organizationId,
        keys: value.keys.filter((k): k is string => typeof k === "string"),
      };
    }
  } catch {
    // A malformed notification from another process is ignored rather than crashing this one.
  }
  return null;
}
