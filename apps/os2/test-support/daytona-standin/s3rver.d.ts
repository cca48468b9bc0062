// Minimal typing for the parts of s3rver 3 (an S3 emulator, no bundled types) the stand-in uses.
declare module "s3rver" {
  import type { AddressInfo } from "node:net";
  import type { Readable } from "node:stream";

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  interface S3Object {
    content: Readable | null;
  }

  class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    store: { getObject(bucket: string, key: string): Promise<S3Object | null> };
  }

  export = S3rver;
}
