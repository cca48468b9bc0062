import { chmod, lstat, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import {
  type FileEntry,
  fileReadQuerySchema,
  type FileReadResponse,
  filesListQuerySchema,
  type FilesListResponse,
  fileWriteRequestSchema,
  type FileWriteResponse,
} from "@os2/protocol";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";

import type { DaemonConfig } from "../config";
import { badRequest, HttpError, notFound, parseJsonBody, parseQuery } from "../http/errors";
import { resolvePath } from "../paths";
import { describeUser } from "../user";

const tooLarge = (what: string, size: number, cap: number) =>
  new HttpError(413, "payload_too_large", `${what} is ${size} bytes, over the ${cap}-byte cap (OS2_FILES_MAX_BYTES)`);

/** `/api/files`: list, read and write, capped at `OS2_FILES_MAX_BYTES`. The daemon is the machine's owner: no sandboxing of paths. */
export function filesRoutes(config: DaemonConfig) {
  const cap = config.filesMaxBytes;
  // base64 inflates by 4/3; leave room for the JSON around the content.
  const bodyCap = Math.ceil((cap * 4) / 3) + 64 * 1024;
  return new Hono()
    .get("/list", async (c) => {
      const { path } = parseQuery(c, filesListQuerySchema);
      const dir = resolvePath(config.workspaceDir, path);
      const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        throw fsError(error, dir, "path");
      });
      const listed = await Promise.all(entries.sort().map((name) => describeEntry(dir, name)));
      const body: FilesListResponse = { path: dir, entries: listed };
      return c.json(body);
    })
    .get("/read", async (c) => {
      const { path, encoding } = parseQuery(c, fileReadQuerySchema);
      const file = resolvePath(config.workspaceDir, path);
      const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
        throw fsError(error, file, "path");
      });
      if (!info.isFile()) throw badRequest(`path: ${file} is not a regular file`, "path");
      if (info.size > cap) throw tooLarge(file, info.size, cap);
      const data = await readFile(file);
      const body: FileReadResponse = { path: file, size: data.length, encoding, content: data.toString(encoding) };
      return c.json(body);
    })
    .put(
      "/write",
      bodyLimit({
        maxSize: bodyCap,
        onError: () => {
          throw new HttpError(
            413,
            "payload_too_large",
            `request body is over ${bodyCap} bytes; files are capped at ${cap} bytes (OS2_FILES_MAX_BYTES)`,
          );
        },
      }),
      async (c) => {
        const req = await parseJsonBody(c, fileWriteRequestSchema);
        const file = resolvePath(config.workspaceDir, req.path);
        const data = Buffer.from(req.content, req.encoding);
        if (data.length > cap) throw tooLarge("content", data.length, cap);
        await mkdir(dirname(file), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
          throw fsError(error, dirname(file), "path");
        });
        await writeFile(file, data).catch((error: NodeJS.ErrnoException) => {
          throw fsError(error, file, "path");
        });
        if (req.mode !== undefined) {
          await chmod(file, req.mode).catch((error: NodeJS.ErrnoException) => {
            throw fsError(error, file, "mode");
          });
        }
        const body: FileWriteResponse = { path: file, size: data.length };
        return c.json(body);
      },
    );
}

async function describeEntry(dir: string, name: string): Promise<FileEntry> {
  const path = join(dir, name);
  const info = await lstat(path);
  const type = info.isFile() ? "file" : info.isDirectory() ? "directory" : info.isSymbolicLink() ? "symlink" : "other";
  return { name, path, type, size: info.size, mtimeMs: info.mtimeMs };
}

function fsError(error: NodeJS.ErrnoException, path: string, field: string): HttpError {
  if (error.code === "ENOENT") return notFound(`${field}: ${path} does not exist`);
  if (error.code === "ENOTDIR") return badRequest(`${field}: ${path} is not a directory`, field);
  if (error.code === "EISDIR") return badRequest(`${field}: ${path} is a directory`, field);
  if (error.code === "EACCES" || error.code === "EPERM") {
    return badRequest(`${field}: permission denied for ${path}; the daemon runs as ${describeUser()}`, field);
  }
  return new HttpError(500, "internal", `${path}: ${error.message}`);
}
