/**
 * Helpers for machine tests: a signed-in owner with an organization and project, waiting for states, and
 * Docker access to check what really exists. Every container a test makes carries the test instance's
 * stage label, and `cleanup` removes all of them, so a failed run leaves nothing behind.
 */
import Dockerode from "dockerode";
import WebSocket from "ws";

import type { TestOs2 } from "./harness.ts";

export const docker = new Dockerode({ host: "127.0.0.1", port: 2375 });

export async function containersOfStage(stage: string) {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`os2.stage=${stage}`] }) });
}

export async function removeContainersOfStage(stage: string) {
  for (const info of await containersOfStage(stage)) {
    await docker
      .getContainer(info.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

export async function setUpProject(t: TestOs2, email = "owner+test@example.com") {
  const cookie = await t.signIn(email);
  const api = t.client({ cookie });
  const org = await api.organization.create.mutate({ name: "Machines Org" });
  const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Machines" });
  const scope = { organizationSlug: org.slug, projectSlug: project.slug };
  return { cookie, api, org, project, scope };
}

export async function waitForObservedState(
  read: () => Promise<{ observedState: string; lastError: string | null }>,
  state: string,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const machine = await read();
    last = `${machine.observedState}${machine.lastError ? ` (${machine.lastError})` : ""}`;
    if (machine.observedState === state) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`machine did not reach ${state} within ${timeoutMs} ms; last state: ${last}`);
}

/** Opens a terminal WebSocket (through the os2 proxy) and collects what it prints. */
export async function openTerminal(url: string, headers: Record<string, string>) {
  const socket = new WebSocket(url, { headers });
  let screen = "";
  socket.on("message", (data: Buffer) => {
    screen += data.toString("utf8");
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    screen: () => screen,
    type: (text: string) => socket.send(JSON.stringify({ type: "input", data: text })),
    close: () => socket.close(),
  };
}
