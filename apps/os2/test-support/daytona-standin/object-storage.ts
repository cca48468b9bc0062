/**
 * Stand-in for the object storage behind `GET /object-storage/push-access`. The SDK uploads each COPY
 * source of a Dockerfile there as `{organizationId}/{md5}/context.tar` with the AWS S3 client (SigV4,
 * path-style), after checking with ListObjectsV2 whether that hash is already present. s3rver is a real S3
 * emulator: it checks the SigV4 signature against its built-in `S3RVER` key pair and speaks
 * ListObjectsV2, PutObject and multipart uploads, so the SDK's upload path runs unmodified.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";

import S3rver from "s3rver";

export const BUILD_BUCKET = "daytona-volume-builds";
// s3rver's built-in account; the push-access answer hands these out the way Daytona hands out STS keys.
const ACCESS_KEY = "S3RVER";
const SECRET = "S3RVER";

export type PushAccess = {
  accessKey: string;
  secret: string;
  sessionToken: string;
  storageUrl: string;
  organizationId: string;
  bucket: string;
  region: string;
};

export class ObjectStorage {
  private constructor(
    private readonly server: S3rver,
    private readonly directory: string,
    readonly url: string,
  ) {}

  static async start(): Promise<ObjectStorage> {
    const directory = await mkdtemp(join(tmpdir(), "daytona-standin-s3-"));
    const server = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: BUILD_BUCKET }],
    });
    const address = await server.run();
    return new ObjectStorage(server, directory, `http://127.0.0.1:${address.port}`);
  }

  pushAccess(organizationId: string): PushAccess {
    return {
      accessKey: ACCESS_KEY,
      secret: SECRET,
      sessionToken: "standin-session-token",
      storageUrl: this.url,
      organizationId,
      bucket: BUILD_BUCKET,
      region: "us-east-1",
    };
  }

  /** The uploaded build context for a hash, or null when the client never uploaded it. */
  async contextTar(organizationId: string, hash: string): Promise<Readable | null> {
    const object = await this.server.store.getObject(BUILD_BUCKET, `${organizationId}/${hash}/context.tar`);
    return object?.content ?? null;
  }

  async close(): Promise<void> {
    await this.server.close();
    await rm(this.directory, { recursive: true, force: true });
  }
}
