/**
 * `pnpm snapshot:local-docker`: builds the sandbox image (default `iterate-sandbox:local`, or
 * LOCAL_DOCKER_IMAGE_NAME) from apps/os2/sandbox/Dockerfile with the repo root as context, streaming the
 * build's progress.
 *
 * - Makes sure a Docker Engine answers (scripts/ensure-docker.sh installs and starts one on Debian as root).
 * - If the base image is missing and cannot be pulled (no registry access), builds the local stand-in with
 *   build-base-standin.sh.
 * - Passes the host's npm registry, and the CA bundle named by NODE_EXTRA_CA_CERTS, into the build.
 * - Labels the image with a hash of the sandbox sources (see source-hash.ts).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { computeSandboxSourceHash, SANDBOX_SOURCE_HASH_LABEL } from "./source-hash";

const sandboxDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(sandboxDir, "../../..");
const dockerfile = join(sandboxDir, "Dockerfile");
const log = (line: string) => console.log(`[snapshot:local-docker] ${line}`);

/** Runs a command; `quiet` swallows its output (for probes), otherwise it streams to ours. */
function run(
  command: string,
  args: string[],
  options: { quiet?: boolean; cwd?: string } = {},
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      stdio: options.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    });
    let stdout = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", () => resolvePromise({ code: 127, stdout }));
    child.on("close", (code) => resolvePromise({ code: code ?? 1, stdout }));
  });
}

async function ensureDocker(): Promise<void> {
  if ((await run("docker", ["version", "--format", "{{.Server.Version}}"], { quiet: true })).code === 0) return;
  log("Docker Engine not reachable; trying scripts/ensure-docker.sh");
  const ensured = await run("bash", [join(repoRoot, "scripts/ensure-docker.sh")]);
  if (ensured.code !== 0 || (await run("docker", ["version"], { quiet: true })).code !== 0) {
    throw new Error(
      "Docker Engine is not reachable. Start Docker, or enable its TCP API (OrbStack: Settings -> Docker -> " +
        '"hosts": ["tcp://127.0.0.1:2375", "unix:///var/run/docker.sock"]) and set DOCKER_HOST.',
    );
  }
}

async function ensureBaseImage(baseImage: string): Promise<void> {
  if ((await run("docker", ["image", "inspect", baseImage], { quiet: true })).code === 0) {
    log(`base image ${baseImage} is present`);
    return;
  }
  log(`base image ${baseImage} is missing; trying docker pull`);
  if ((await run("docker", ["pull", baseImage])).code === 0) return;
  log(`pull failed (no registry access?); building a local stand-in with build-base-standin.sh`);
  const built = await run("bash", [join(sandboxDir, "build-base-standin.sh"), baseImage]);
  if (built.code !== 0) throw new Error(`build-base-standin.sh failed for ${baseImage}`);
}

async function defaultBaseImage(): Promise<string> {
  const match = (await readFile(dockerfile, "utf8")).match(/^ARG BASE_IMAGE=(\S+)/m);
  if (!match?.[1]) throw new Error(`no "ARG BASE_IMAGE=" default in ${dockerfile}`);
  return match[1];
}

async function main(): Promise<void> {
  const started = Date.now();
  const imageName = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
  await ensureDocker();
  const baseImage = process.env.OS2_SANDBOX_BASE_IMAGE || (await defaultBaseImage());
  await ensureBaseImage(baseImage);

  const sourceHash = await computeSandboxSourceHash(repoRoot);
  const registry = (await run("npm", ["config", "get", "registry"], { quiet: true })).stdout.trim();
  const buildArgs = [
    `BASE_IMAGE=${baseImage}`,
    `SOURCE_HASH=${sourceHash}`,
    ...(registry ? [`NPM_REGISTRY=${registry}`] : []),
  ];
  for (const name of ["GIT_USER_NAME", "GIT_USER_EMAIL"]) {
    const value = process.env[`OS2_SANDBOX_${name}`];
    if (value) buildArgs.push(`${name}=${value}`);
  }

  const caTarget = join(sandboxDir, "ca", "extra-ca.crt");
  const caSource = process.env.NODE_EXTRA_CA_CERTS;
  if (caSource && existsSync(caSource)) {
    log(`trusting NODE_EXTRA_CA_CERTS (${caSource}) inside the image`);
    await copyFile(caSource, caTarget);
  }
  try {
    log(`building ${imageName} (source hash ${sourceHash.slice(0, 12)})`);
    const args = [
      "build",
      "-f",
      dockerfile,
      "-t",
      imageName,
      ...buildArgs.flatMap((a) => ["--build-arg", a]),
      repoRoot,
    ];
    const built = await run("docker", args);
    if (built.code !== 0) throw new Error(`docker build failed (exit ${built.code}); see the output above`);
  } finally {
    await rm(caTarget, { force: true });
  }
  const size = (await run("docker", ["image", "inspect", "-f", "{{.Size}}", imageName], { quiet: true })).stdout.trim();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(
    `built ${imageName}: ${(Number(size) / 1e6).toFixed(0)} MB, label ${SANDBOX_SOURCE_HASH_LABEL}=${sourceHash.slice(0, 12)}…, in ${seconds} s`,
  );
}

main().catch((error: unknown) => {
  console.error(`[snapshot:local-docker] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
