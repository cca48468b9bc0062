/**
 * Stand-in for Daytona's preview proxy (`https://<port>-<sandboxId>.proxy.daytona…`). Like the real one it
 * gives each sandbox port its own origin (here: its own loopback port, so URLs have no path, as Daytona's
 * do), demands the `x-daytona-preview-token` header (401 without it or with a wrong one), shows a warning
 * page to browser-like requests unless `X-Daytona-Skip-Preview-Warning: true` is sent, and forwards HTTP
 * and WebSocket upgrades to the port inside the sandbox's container.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, request as httpRequest, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";

export type PreviewTarget = { host: string; port: number };

export type PreviewRoute = {
  sandboxId: string;
  port: number;
  /** Where the port is reachable now, or a reason why not (sandbox stopped…). */
  resolveTarget: () => Promise<PreviewTarget | { unavailable: string }>;
};

type PreviewListener = { server: Server; url: string; token: string; route: PreviewRoute; sockets: Set<Socket> };

const TOKEN_HEADER = "x-daytona-preview-token";
const SKIP_WARNING_HEADER = "x-daytona-skip-preview-warning";

export class PreviewProxy {
  private readonly listeners = new Map<string, PreviewListener>();

  /** The preview URL and current token for a sandbox port, starting its listener on first use. */
  async open(route: PreviewRoute): Promise<{ url: string; token: string }> {
    const key = `${route.sandboxId}:${route.port}`;
    const existing = this.listeners.get(key);
    if (existing) return { url: existing.url, token: existing.token };
    const listener = await this.listen(route);
    this.listeners.set(key, listener);
    return { url: listener.url, token: listener.token };
  }

  /** Gives the port a new token, as if Daytona had rotated it; the old one gets 401 from now on. */
  rotateToken(sandboxId: string, port: number): string {
    const listener = this.listeners.get(`${sandboxId}:${port}`);
    if (!listener) throw new Error(`No preview URL was issued for port ${port} of sandbox ${sandboxId}`);
    listener.token = newToken();
    return listener.token;
  }

  async closeSandbox(sandboxId: string): Promise<void> {
    const closing = [...this.listeners.entries()]
      .filter(([, listener]) => listener.route.sandboxId === sandboxId)
      .map(([key, listener]) => {
        this.listeners.delete(key);
        return closeListener(listener);
      });
    await Promise.all(closing);
  }

  async closeAll(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map(closeListener));
  }

  private async listen(route: PreviewRoute): Promise<PreviewListener> {
    const sockets = new Set<Socket>();
    const listener: PreviewListener = { server: createServer(), url: "", token: newToken(), route, sockets };
    const { server } = listener;
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    server.on("request", (req, res) => {
      void (async () => {
        const denied = checkAccess(req, listener.token);
        if (denied) {
          res.writeHead(denied.status, { "content-type": denied.contentType }).end(denied.body);
          return;
        }
        const target = await route.resolveTarget();
        if ("unavailable" in target) {
          res.writeHead(502, { "content-type": "text/plain" }).end(target.unavailable);
          return;
        }
        const upstream = httpRequest(
          {
            host: target.host,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: forwardHeaders(req, target),
          },
          (upstreamRes) => {
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            upstreamRes.pipe(res);
          },
        );
        upstream.on("error", (error) => {
          if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
          res.end(`preview proxy: ${error.message}`);
        });
        req.pipe(upstream);
      })();
    });
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      void (async () => {
        const denied = checkAccess(req, listener.token);
        if (denied) {
          socket.end(
            `HTTP/1.1 ${denied.status} Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${denied.body}`,
          );
          return;
        }
        const target = await route.resolveTarget();
        if ("unavailable" in target) {
          socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n${target.unavailable}`);
          return;
        }
        const upstream = connect(target.port, target.host, () => {
          const headers = forwardHeaders(req, target);
          const lines = [`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/1.1`];
          for (const [name, value] of Object.entries(headers)) {
            for (const item of Array.isArray(value) ? value : [value])
              if (item !== undefined) lines.push(`${name}: ${item}`);
          }
          upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
          if (head.length) upstream.write(head);
          upstream.pipe(socket);
          socket.pipe(upstream);
        });
        const closeBoth = () => {
          upstream.destroy();
          socket.destroy();
        };
        upstream.on("error", closeBoth);
        socket.on("error", closeBoth);
        upstream.on("close", closeBoth);
        socket.on("close", closeBoth);
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    listener.url = `http://127.0.0.1:${port}`;
    return listener;
  }
}

function checkAccess(
  req: IncomingMessage,
  token: string,
): { status: number; contentType: string; body: string } | null {
  if (req.headers[TOKEN_HEADER] !== token) {
    return { status: 401, contentType: "text/plain", body: "Unauthorized: missing or invalid x-daytona-preview-token" };
  }
  const browserLike = (req.headers.accept ?? "").includes("text/html") && !req.headers.upgrade;
  if (browserLike && req.headers[SKIP_WARNING_HEADER] !== "true") {
    return {
      status: 200,
      contentType: "text/html",
      body: "<html><body>Preview warning: you are about to visit a Daytona sandbox preview.</body></html>",
    };
  }
  return null;
}

/** Daytona's own headers stop at the proxy; everything else goes through with the target's host. */
function forwardHeaders(req: IncomingMessage, target: PreviewTarget): IncomingMessage["headers"] {
  const headers: IncomingMessage["headers"] = { ...req.headers, host: `${target.host}:${target.port}` };
  delete headers[TOKEN_HEADER];
  delete headers[SKIP_WARNING_HEADER];
  return headers;
}

function newToken(): string {
  return randomBytes(16).toString("hex");
}

async function closeListener(listener: PreviewListener): Promise<void> {
  for (const socket of listener.sockets) socket.destroy();
  await new Promise<void>((resolve) => listener.server.close(() => resolve()));
}
