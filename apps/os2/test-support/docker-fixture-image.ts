/**
 * Tiny Docker images for integration tests. Nothing can be pulled here, so fixtures are built `FROM` a
 * local base image that has `node` (see ensure-test-base-image.sh), with the legacy builder (no BuildKit).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import type Dockerode from "dockerode";

const execFileAsync = promisify(execFile);

/** Name of a local image with `node` on its PATH; builds one with debootstrap the first time if needed. */
export async function ensureTestBaseImage(): Promise<string> {
  const script = fileURLToPath(new URL("./ensure-test-base-image.sh", import.meta.url));
  const { stdout } = await execFileAsync("bash", [script], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  const image = stdout.trim().split("\n").at(-1);
  if (!image) throw new Error(`${script} printed no image name`);
  return image;
}

/**
 * A stand-in for the sandbox daemon: answers `GET /api/health` on port 3000 (and on 8080, as a preview
 * port), returns its environment at `GET /env`, writes one line to stdout and one to stderr, and exits at
 * once on SIGTERM like the real image's entry does.
 */
export const FIXTURE_DAEMON_SCRIPT = [
  // First, so a stop right after start is not ignored (PID 1 without a handler ignores SIGTERM).
  'process.on("SIGTERM", () => process.exit(0));',
  'const http = require("http");',
  "const handler = (req, res) => {",
  '  if (req.url === "/api/health") return res.end(JSON.stringify({ status: "ok", port: req.socket.localPort }));',
  '  if (req.url === "/env") return res.end(JSON.stringify(process.env));',
  "  res.statusCode = 404; res.end();",
  "};",
  "http.createServer(handler).listen(3000);",
  "http.createServer(handler).listen(8080);",
  'console.log("fixture stdout ready");',
  'console.error("fixture stderr ready");',
].join(" ");

export type BuildFixtureImageInput = {
  base: string;
  tag: string;
  /** Exec-form entrypoint; replaces whatever the base image runs. */
  entrypoint: string[];
  labels?: Record<string, string>;
};

/** Builds `tag` and returns its image id. */
export async function buildFixtureImage(docker: Dockerode, input: BuildFixtureImageInput): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "os2-fixture-image-"));
  try {
    const labelLines = Object.entries(input.labels ?? {}).map(
      ([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`,
    );
    const dockerfile = [
      `FROM ${input.base}`,
      ...labelLines,
      `ENTRYPOINT ${JSON.stringify(input.entrypoint)}`,
      "CMD []",
      "",
    ];
    await writeFile(join(dir, "Dockerfile"), dockerfile.join("\n"));
    const stream = await docker.buildImage(
      { context: dir, src: ["Dockerfile"] },
      { t: input.tag, rm: true, forcerm: true },
    );
    const output = await new Promise<Array<{ error?: string; stream?: string }>>((resolve, reject) => {
      docker.modem.followProgress(stream, (error: Error | null, result: Array<{ error?: string }>) =>
        error ? reject(error) : resolve(result),
      );
    });
    const failure = output.find((line) => line.error);
    if (failure) throw new Error(`docker build ${input.tag} failed: ${failure.error}`);
    const info = await docker.getImage(input.tag).inspect();
    return info.Id;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
