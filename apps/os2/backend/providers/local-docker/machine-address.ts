/**
 * Where os2 connects to a port of a local machine, shortest path first:
 *
 * 1. The container's own address on the os2 bridge network, `<bridge ip>:<port>`: host → container, with
 *    neither docker-proxy (the published port) nor the daemon's `/api/forward/:port` in between. The host
 *    is the bridge's gateway, so it reaches every machine even though machines cannot reach each other.
 * 2. Where the host cannot reach the bridge (os2 itself in a container, Docker Desktop's VM): the daemon's
 *    port published on 127.0.0.1, and other ports through the daemon's forward behind it.
 *
 * Which one is decided once per machine (per container and bridge address) by a TCP probe of the daemon's
 * port: an answer, even a refusal, proves the address is reachable; silence or an unreachable network
 * means it is not. A port other than the daemon's goes direct only when something listens on the bridge
 * address; an app bound to the machine's loopback (Vite's default) is reached through the daemon's forward,
 * which connects from inside.
 *
 * The address is Docker's record of the container (`docker inspect`, this network's entry), never anything
 * the machine says: a machine has no NET_ADMIN, cannot change the address Docker gave it, and has no say in
 * the port, which os2 parsed from its own URL and checks again here.
 */
import net from "node:net";

import type Dockerode from "dockerode";

/** How long a probe waits for the handshake; once per machine, and only where the bridge is silent. */
export const BRIDGE_PROBE_TIMEOUT_MS = 1_500;
/** Per-port probes go to a machine already known reachable: an answer takes microseconds. */
export const PORT_PROBE_TIMEOUT_MS = 500;
const MAX_DECISIONS = 10_000;

/** `open`: connected; `refused`: the address answered with a reset (nothing listens); `unreachable`: neither. */
export type ProbeResult = "open" | "refused" | "unreachable";
export type Probe = (host: string, port: number, timeoutMs: number) => Promise<ProbeResult>;

/** One TCP handshake, closed at once; never rejects. */
export const probeTcp: Probe = (host, port, timeoutMs) =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("unreachable"), timeoutMs);
    socket.once("connect", () => done("open"));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" ? "refused" : "unreachable"),
    );
  });

/** A TCP port os2 may connect to: an integer from 1 to 65535, whatever the caller passed. */
export function checkedPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port: must be an integer from 1 to 65535 (got ${String(port).slice(0, 16)})`);
  }
  return port;
}

/**
 * The container's IPv4 address on `network`, from Docker's inspect, or null when it has none usable. Only
 * this network's entry counts (a container connected to others keeps os2 on its own), and an address that
 * could point back at the host or nowhere (loopback, unspecified, link-local, multicast, broadcast) is
 * refused rather than connected to.
 */
export function bridgeAddressOf(info: Pick<Dockerode.ContainerInspectInfo, "NetworkSettings">, network: string) {
  const address = info.NetworkSettings?.Networks?.[network]?.IPAddress;
  if (typeof address !== "string" || !net.isIPv4(address)) return null;
  const [first = 0, second = 0] = address.split(".").map(Number);
  const unusable =
    first === 0 || first === 127 || first >= 224 || (first === 169 && second === 254) || address === "255.255.255.255";
  return unusable ? null : address;
}

/**
 * The per-machine decision: whether the host reaches this container's bridge address. Kept per container
 * and address (a restart may bring a new address, which is decided afresh); concurrent asks share one probe.
 */
export class BridgeReachability {
  private readonly decisions = new Map<string, Promise<boolean>>();

  constructor(
    private readonly probe: Probe,
    private readonly timeoutMs = BRIDGE_PROBE_TIMEOUT_MS,
  ) {}

  reachable(containerId: string, address: string, daemonPort: number): Promise<boolean> {
    const key = `${containerId}@${address}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      if (this.decisions.size >= MAX_DECISIONS) this.decisions.clear();
      decision = this.probe(address, daemonPort, this.timeoutMs).then((result) => result !== "unreachable");
      this.decisions.set(key, decision);
    }
    return decision;
  }
}
