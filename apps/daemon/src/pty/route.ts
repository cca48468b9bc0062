import { ptyClientMessageSchema, ptyQuerySchema } from "@os2/protocol";
import { Hono } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import type { WebSocket } from "ws";

import type { DaemonConfig } from "../config";
import { notFound, parseQuery } from "../http/errors";
import { resolveExistingDir } from "../paths";
import type { Tmux } from "../tmux/tmux";
import { relayWithBackpressure } from "./output-flow";
import { TmuxTerminal } from "./tmux-terminal";

/** The prefix of every agent's tmux session (`agent-<id>`, agents/service.ts). */
const AGENT_SESSION_PREFIX = "agent-";

/**
 * `GET /api/pty/ws?cols&rows&tmuxSession`: a WebSocket terminal attached to a tmux session (created when
 * missing, in the workspace directory). Closing the socket detaches; the session lives on. `agent-*` sessions
 * belong to agents (/api/agents): attaching to one that is gone is a 404, never a fresh shell posing as the agent.
 * `onActivity` is called when the terminal is opened or typed into (the OOM watch looks at its busy cadence again).
 */
export function ptyRoutes(
  config: DaemonConfig,
  tmux: Tmux,
  upgradeWebSocket: UpgradeWebSocket<WebSocket>,
  onActivity: () => void = () => undefined,
) {
  return new Hono().get(
    "/ws",
    // Validate and create the session before upgrading, so bad input is a plain 400 instead of a dropped socket.
    async (c, next) => {
      const query = parseQuery(c, ptyQuerySchema);
      if (query.tmuxSession.startsWith(AGENT_SESSION_PREFIX) && !(await tmux.hasSession(query.tmuxSession)))
        throw notFound(
          `no tmux session ${query.tmuxSession}: it belongs to an agent that is not running; start the agent first`,
        );
      const cwd = await resolveExistingDir(config.workspaceDir, undefined);
      await tmux.ensureSession({ name: query.tmuxSession, cwd });
      await next();
    },
    upgradeWebSocket((c) => {
      const query = ptyQuerySchema.parse(c.req.query());
      let terminal: TmuxTerminal | undefined;
      return {
        onOpen(_event, ws) {
          // @hono/node-ws always hands over its `ws` socket; its bufferedAmount drives the backpressure.
          if (!ws.raw) return ws.close(1011, "no socket to relay the terminal to");
          const opened = TmuxTerminal.open({
            tmuxArgs: tmux.baseArgs(),
            session: query.tmuxSession,
            size: query,
            oomScoreAdj: tmux.oomScoreAdj,
          });
          terminal = opened;
          onActivity();
          relayWithBackpressure(opened, ws.raw);
          opened.onExit(() => ws.close(1000, "terminal exited"));
        },
        onMessage(event, ws) {
          if (!terminal) return;
          onActivity();
          if (typeof event.data !== "string") {
            if (event.data instanceof ArrayBuffer) terminal.write(new Uint8Array(event.data));
            return;
          }
          handleTextMessage(terminal, event.data, ws);
        },
        onClose() {
          terminal?.close();
        },
      };
    }),
  );
}

function handleTextMessage(terminal: TmuxTerminal, text: string, ws: WSContext): void {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    ws.send(
      JSON.stringify({
        type: "error",
        message: "text frames must be JSON {type:'input'|'resize'}; send raw input as binary frames",
      }),
    );
    return;
  }
  const parsed = ptyClientMessageSchema.safeParse(raw);
  if (!parsed.success) {
    ws.send(JSON.stringify({ type: "error", message: parsed.error.issues[0]?.message ?? "invalid message" }));
    return;
  }
  const message = parsed.data;
  if (message.type === "input") terminal.write(message.data);
  // A resize that fails (the session just ended) changes nothing worth reporting.
  else terminal.resize(message).catch(() => undefined);
}
