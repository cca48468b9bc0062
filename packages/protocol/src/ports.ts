import { z } from "zod";

/** One TCP port something listens on inside the machine (from `/proc/net/tcp` and `/proc/net/tcp6`). */
export const listeningPortSchema = z.object({
  port: z.number().int().min(1).max(65535),
  /** The local address it is bound to: `0.0.0.0`, `::`, `127.0.0.1`, `::1`, … */
  address: z.string(),
  /**
   * The owning command's name (file name of its argv[0], else `/proc/<pid>/comm`: `node`, `python3`) when
   * the daemon may see the owning process; otherwise null.
   */
  process: z.string().nullable(),
});
export type ListeningPort = z.infer<typeof listeningPortSchema>;

/** `GET /api/ports`: one entry per port, sorted by port. The daemon itself is on `DAEMON_PORT`. */
export const portsResponseSchema = z.object({ ports: z.array(listeningPortSchema) });
export type PortsResponse = z.infer<typeof portsResponseSchema>;
