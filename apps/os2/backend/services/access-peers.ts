/**
 * Instances sharing one PostgreSQL database tell each other when they forget their access answers, so a
 * member removed, a role changed or a session signed out on one instance is refused by every other
 * instance's API and doors as soon as the notice arrives (a NOTIFY: milliseconds), not only once their own
 * answers expire (OS2_ACCESS_CACHE_MS). When a notice is lost (the listening connection was down), that
 * expiry is still the bound.
 *
 * Only forgets that start here are announced, so a notice is never passed on again. Forgets in one turn of
 * the event loop (a mutation and the auth change it made) go out as one notice.
 */
import { randomUUID } from "node:crypto";

import type { PubSub } from "../db/client.ts";
import type { Logger } from "../logger.ts";
import type { AccessService } from "./access.ts";

export const ACCESS_FORGET_CHANNEL = "os2_access_forget";

export async function shareAccessForgets(options: {
  access: AccessService;
  pubsub: PubSub;
  log: Logger;
  /** Names this instance in its notices, so it skips its own; random by default. */
  instanceId?: string;
}): Promise<void> {
  const instanceId = options.instanceId ?? randomUUID();
  await options.pubsub.listen(ACCESS_FORGET_CHANNEL, (payload) => {
    // Another instance's notice carries its id; ours comes back too and is skipped. Nothing else is read
    // from the payload: whatever it says, the most it can make this instance do is read again.
    if (payload !== instanceId) options.access.forget("peer");
  });
  let pending = false;
  options.access.onForget((origin) => {
    if (origin !== "here" || pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      options.pubsub.notify(ACCESS_FORGET_CHANNEL, instanceId).catch((error: unknown) => {
        options.log.warn("could not tell the other instances to forget their access answers", {
          error: String(error),
        });
      });
    });
  });
}
