import { describe, expect, it } from "vitest";

import type { Auth } from "../auth/auth.ts";
import type { Db, PubSub } from "../db/client.ts";
import { createLogger } from "../logger.ts";
import { AccessService, type ForgetOrigin } from "./access.ts";
import { ACCESS_FORGET_CHANNEL, shareAccessForgets } from "./access-peers.ts";

/** What PostgreSQL's LISTEN/NOTIFY does for the instances on one database: every listener, the sender too. */
function sharedChannel() {
  const listeners = new Map<string, Array<(payload: string) => void>>();
  const sent: string[] = [];
  const pubsub: PubSub = {
    async listen(channel, onMessage) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), onMessage]);
    },
    async notify(channel, payload) {
      sent.push(payload);
      queueMicrotask(() => {
        for (const listener of listeners.get(channel) ?? []) listener(payload);
      });
    },
  };
  return { pubsub, sent, listeners };
}

/** A real access service; forgetting touches neither the database nor better-auth. */
function accessService() {
  const access = new AccessService({ db: {} as Db, auth: { onSessionsChanged() {} } as unknown as Auth });
  const heard: ForgetOrigin[] = [];
  access.onForget((origin) => heard.push(origin));
  return { access, heard };
}

const log = createLogger(() => {});

/** Instances a and b sharing one channel, each announcing its forgets. */
async function twoInstances() {
  const channel = sharedChannel();
  const a = accessService();
  const b = accessService();
  await shareAccessForgets({ access: a.access, pubsub: channel.pubsub, log, instanceId: "a" });
  await shareAccessForgets({ access: b.access, pubsub: channel.pubsub, log, instanceId: "b" });
  return { channel, a, b };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("shareAccessForgets (access answers forgotten on every instance)", () => {
  it("a forget here is announced once, and the other instance forgets as a peer without announcing it again", async () => {
    const { channel, a, b } = await twoInstances();
    expect(channel.listeners.get(ACCESS_FORGET_CHANNEL)).toHaveLength(2);

    a.access.forget();
    await settle();
    expect(channel.sent).toEqual(["a"]);
    // A heard only its own forget (its notice came back and was skipped); B forgot once, as a peer.
    expect(a.heard).toEqual(["here"]);
    expect(b.heard).toEqual(["peer"]);
  });

  it("forgets in one turn of the event loop go out as one notice", async () => {
    const { channel, a, b } = await twoInstances();
    a.access.forget();
    a.access.forget();
    a.access.forget();
    await settle();
    expect(channel.sent).toEqual(["a"]);
    expect(b.heard).toEqual(["peer"]);
    // The next turn's forget is announced again.
    a.access.forget();
    await settle();
    expect(channel.sent).toEqual(["a", "a"]);
    expect(b.heard).toEqual(["peer", "peer"]);
  });

  it("a notice that cannot be sent is logged, and the forget here still happened", async () => {
    const lines: string[] = [];
    const a = accessService();
    const failing: PubSub = {
      async listen() {},
      async notify() {
        throw new Error("connection lost");
      },
    };
    await shareAccessForgets({
      access: a.access,
      pubsub: failing,
      log: createLogger((line) => lines.push(line)),
      instanceId: "a",
    });
    a.access.forget();
    await settle();
    expect(a.heard).toEqual(["here"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /warn could not tell the other instances to forget their access answers .*connection lost/,
    );
  });
});
