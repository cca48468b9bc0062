/**
 * What Daytona does with `POST /snapshots { buildInfo: { dockerfileContent, contextHashes } }`: unpack each
 * uploaded context tar into one build context, add the Dockerfile, and build it. Here the build runs on
 * the local Docker Engine (legacy builder, no BuildKit), and its real output becomes the snapshot's build
 * log, which the SDK streams through `build-logs-url?follow=true`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

import type Dockerode from "dockerode";
import { extract, pack } from "tar-fs";
import { z } from "zod";

import type { ObjectStorage } from "./object-storage";

const DOCKERFILE_NAME = ".daytona-standin.Dockerfile";

const buildEventSchema = z.object({
  stream: z.string().optional(),
  status: z.string().optional(),
  error: z.string().optional(),
  errorDetail: z.object({ message: z.string() }).optional(),
});

export type BuildInput = {
  docker: Dockerode;
  storage: ObjectStorage;
  organizationId: string;
  dockerfileContent: string;
  contextHashes: string[];
  tag: string;
  labels: Record<string, string>;
  onLog: (text: string) => void;
};

/** Resolves when the image is built; rejects with the build's error message otherwise. */
export async function buildSnapshotImage(input: BuildInput): Promise<void> {
  const contextDir = await mkdtemp(join(tmpdir(), "daytona-standin-build-"));
  try {
    for (const hash of input.contextHashes) {
      const tar = await input.storage.contextTar(input.organizationId, hash);
      if (!tar) throw new Error(`Build context ${hash} was not uploaded to object storage`);
      await pipeline(tar, extract(contextDir));
    }
    await writeFile(join(contextDir, DOCKERFILE_NAME), input.dockerfileContent);
    const output = await input.docker.buildImage(pack(contextDir), {
      t: input.tag,
      dockerfile: DOCKERFILE_NAME,
      labels: input.labels,
      rm: true,
      forcerm: true,
    });
    await followBuild(output, input.onLog);
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
}

/** Docker streams newline-separated JSON events; `stream` is log text and `error` ends the build. */
function followBuild(output: NodeJS.ReadableStream, onLog: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    let failure: string | undefined;
    const handleLine = (line: string) => {
      if (!line.trim()) return;
      const parsed = buildEventSchema.safeParse(safeJson(line));
      if (!parsed.success) return;
      const event = parsed.data;
      if (event.stream) onLog(event.stream);
      else if (event.status) onLog(`${event.status}\n`);
      const error = event.errorDetail?.message ?? event.error;
      if (error) {
        failure = error;
        onLog(`${error}\n`);
      }
    };
    output.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      lines.forEach(handleLine);
    });
    output.on("error", reject);
    output.on("end", () => {
      handleLine(buffered);
      if (failure) reject(new Error(failure));
      else resolve();
    });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
