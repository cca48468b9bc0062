/**
 * Cache of Daytona preview URLs and tokens, per sandbox and port.
 *
 * Daytona answers `GET /sandbox/{id}/ports/{port}/preview-url` with `{ url, token }`; every request through
 * that URL must carry the token in `x-daytona-preview-token`. Fetching it on every proxied request would
 * add a round trip to Daytona's API, so the control plane keeps it in an encrypted table (its own
 * implementation of this interface). After a restart the table may be empty or stale: a miss fetches the
 * token again, and a 401 from the preview proxy invalidates it and fetches once more (see preview-request.ts).
 */
import type { PreviewToken, PreviewTokenStore } from "../types.ts";

export type { PreviewToken, PreviewTokenStore };

/** For tests and for running without a database; tokens are lost on restart, which the design allows. */
export class InMemoryPreviewTokenStore implements PreviewTokenStore {
  private readonly entries = new Map<string, PreviewToken>();

  async get(machineExternalId: string, port: number): Promise<PreviewToken | null> {
    return this.entries.get(key(machineExternalId, port)) ?? null;
  }

  async set(machineExternalId: string, port: number, value: PreviewToken): Promise<void> {
    this.entries.set(key(machineExternalId, port), { ...value });
  }

  async delete(machineExternalId: string, port?: number): Promise<void> {
    if (port !== undefined) {
      this.entries.delete(key(machineExternalId, port));
      return;
    }
    for (const entryKey of [...this.entries.keys()]) {
      if (entryKey.startsWith(`${machineExternalId}:`)) this.entries.delete(entryKey);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function key(machineExternalId: string, port: number): string {
  return `${machineExternalId}:${port}`;
}
