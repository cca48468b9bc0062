import { z } from "zod";

const pathField = z.string().min(1, "must not be empty");
export const fileEncodingSchema = z.enum(["utf8", "base64"]);

export const fileEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: z.number().int(),
  mtimeMs: z.number(),
});
export type FileEntry = z.infer<typeof fileEntrySchema>;

/** `GET /api/files/list?path=`: entries of a directory, sorted by name. */
export const filesListQuerySchema = z.object({ path: pathField });
export const filesListResponseSchema = z.object({ path: z.string(), entries: z.array(fileEntrySchema) });
export type FilesListResponse = z.infer<typeof filesListResponseSchema>;

/** `GET /api/files/read?path=&encoding=utf8|base64`: a file over the daemon's cap answers 413. */
export const fileReadQuerySchema = z.object({ path: pathField, encoding: fileEncodingSchema.default("utf8") });
export const fileReadResponseSchema = z.object({
  path: z.string(),
  size: z.number().int(),
  encoding: fileEncodingSchema,
  content: z.string(),
});
export type FileReadResponse = z.infer<typeof fileReadResponseSchema>;

/** `PUT /api/files/write`: content over the daemon's cap answers 413. Parent directories are created. */
export const fileWriteRequestSchema = z.object({
  path: pathField,
  content: z.string(),
  encoding: fileEncodingSchema.default("utf8"),
  /** File mode, e.g. 0o755 for a script. */
  mode: z.number().int().min(0).max(0o7777).optional(),
});
export type FileWriteRequest = z.input<typeof fileWriteRequestSchema>;
export const fileWriteResponseSchema = z.object({ path: z.string(), size: z.number().int() });
export type FileWriteResponse = z.infer<typeof fileWriteResponseSchema>;
