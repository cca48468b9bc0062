/**
 * Live updates: the server pushes `{type:"invalidate", keys:["project", …]}` over /api/ws/realtime after
 * mutations; we invalidate every tRPC query whose path starts with one of those router names (tRPC keys look
 * like `[["project","list"], {input, type}]`). Reconnects with capped exponential backoff, and refetches
 * everything after a reconnect, since messages sent while disconnected are lost.
 */
import type { QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

export const REALTIME_PATH = "/api/ws/realtime";
const MAX_BACKOFF_MS = 30_000;

type RealtimeMessage = { type: "invalidate"; keys: string[] } | { type: "ready" };

function parseMessage(data: unknown): RealtimeMessage | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== "object" || value === null || !("type" in value)) return null;
    if (value.type === "ready") return { type: "ready" };
    if (value.type === "invalidate" && "keys" in value && Array.isArray(value.keys)) {
      return { type: "invalidate", keys: value.keys.filter((key): key is string => typeof key === "string") };
    }
  } catch {
    // Not JSON: ignore rather than break the socket.
  }
  return null;
}

export function invalidateRouters(queryClient: QueryClient, routerNames: readonly string[]): Promise<void> {
  const names = new Set(routerNames);
  return queryClient.invalidateQueries({
    predicate: (query) => {
      const path = query.queryKey[0];
      return Array.isArray(path) && typeof path[0] === "string" && names.has(path[0]);
    },
  });
}

/** Keeps one realtime socket open while mounted (the auth-required layout mounts it). */
export function useRealtimeInvalidation(queryClient: QueryClient): void {
  useEffect(() => {
    let socket: WebSocket | null = null;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const connect = () => {
      const url = new URL(REALTIME_PATH, window.location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(url);
      socket.onmessage = (event) => {
        const message = parseMessage(event.data);
        if (!message) return;
        if (message.type === "invalidate") {
          void invalidateRouters(queryClient, message.keys);
          return;
        }
        // "ready": after a reconnect, anything may have changed while we were away.
        if (attempt > 0) void queryClient.invalidateQueries();
        attempt = 0;
      };
      socket.onclose = () => {
        if (stopped) return;
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
        attempt += 1;
        retryTimer = setTimeout(connect, delay);
      };
    };

    connect();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      socket?.close();
    };
  }, [queryClient]);
}
