/**
 * `pnpm dev` checks the local sandbox image before serving: when Docker answers and the image is missing,
 * it builds it in the background (the dashboard is usable meanwhile; the create dialog says the image is
 * missing until the build ends); when the image is older than the sandbox sources, it says to rebuild;
 * when Docker is unreachable, it explains how to enable the Docker TCP API.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import Dockerode from "dockerode";

import { computeSandboxSourceHash, SANDBOX_SOURCE_HASH_LABEL } from "../sandbox/source-hash.ts";
import type { Logger } from "./logger.ts";
import { toDockerodeOptions } from "./providers/local-docker/docker-host.ts";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(packageDir, "../..");

export async function checkSandboxImage(options: {
  dockerHost: string;
  imageName: string;
  log: Logger;
}): Promise<void> {
  const { dockerHost, imageName, log } = options;
  const docker = new Dockerode(toDockerodeOptions(dockerHost));
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 2 s")), 2_000).unref()),
    ]);
  } catch (error) {
    log.warn(
      `Docker is not reachable at ${dockerHost} (${(error as Error).message}), so local-docker machines are unavailable. ` +
        `Enable the Docker TCP API (OrbStack: Settings → Docker → "hosts": ["tcp://127.0.0.1:2375", "unix:///var/run/docker.sock"]) ` +
        `or set DOCKER_HOST, then restart pnpm dev.`,
    );
    return;
  }
  const image = await docker
    .getImage(imageName)
    .inspect()
    .catch(() => null);
  if (!image) {
    log.info(`Sandbox image ${imageName} is missing: building it now in the background (pnpm snapshot:local-docker).`);
    buildInBackground(imageName, log);
    return;
  }
  const builtFrom = image.Config.Labels?.[SANDBOX_SOURCE_HASH_LABEL];
  const current = await computeSandboxSourceHash(repoRoot);
  if (builtFrom !== current) {
    log.warn(`The sandbox sources changed since ${imageName} was built. Rebuild it with: pnpm snapshot:local-docker`);
  }
}

function buildInBackground(imageName: string, log: Logger) {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(packageDir, "sandbox/build-local-image.ts")], {
    cwd: packageDir,
    env: { ...process.env, LOCAL_DOCKER_IMAGE_NAME: imageName },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) process.stdout.write(`[sandbox image] ${line}\n`);
  };
  child.stdout.on("data", forward);
  child.stderr.on("data", forward);
  child.on("close", (code) => {
    if (code === 0) log.info(`Sandbox image ${imageName} is built: local-docker machines are available.`);
    else log.error(`Building ${imageName} failed (exit ${code}); run pnpm snapshot:local-docker to see why.`);
  });
}
