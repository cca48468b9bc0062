import { z } from "zod";

import { queryIntSchema } from "./common";

/** `GET /api/logs`: the services whose s6-log directory exists. */
export const logsListResponseSchema = z.object({
  services: z.array(z.object({ name: z.string(), logDir: z.string() })),
});
export type LogsListResponse = z.infer<typeof logsListResponseSchema>;

/** `GET /api/logs/:service?lines=`: the last lines of s6-log's `current` file, oldest first. */
export const logsReadQuerySchema = z.object({ lines: queryIntSchema(1, 10_000).default(200) });
export const logsReadResponseSchema = z.object({ service: z.string(), lines: z.array(z.string()) });
export type LogsReadResponse = z.infer<typeof logsReadResponseSchema>;
