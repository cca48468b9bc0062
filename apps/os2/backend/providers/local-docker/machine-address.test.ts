import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

import { describe, expect, it } from "vitest";

import { bridgeAddressOf, BridgeReachability, checkedPort, type ProbeResult, probeTcp } from "./machine-address.ts";

const NETWORK = "os2-machines";
const inspected = (networks: Record<string, unknown>) =>
  ({ NetworkSettings: { Networks: networks } }) as unknown as Parameters<typeof bridgeAddressOf>[0];

describe("a machine's bridge address", () => {
  it("is Docker's record of the container on os2's network, and only that network's", () => {
    expect(bridgeAddressOf(inspected({ [NETWORK]: { IPAddress: "172.18.0.7" } }), NETWORK)).toBe("172.18.0.7");
    expect(
      bridgeAddressOf(
        inspected({ bridge: { IPAddress: "172.17.0.9" }, [NETWORK]: { IPAddress: "172.18.0.7" } }),
        NETWORK,
      ),
    ).toBe("172.18.0.7");
    // On another network only (or none): no bridge address, so the published port is used.
    expect(bridgeAddressOf(inspected({ bridge: { IPAddress: "172.17.0.9" } }), NETWORK)).toBeNull();
    expect(bridgeAddressOf(inspected({}), NETWORK)).toBeNull();
    expect(bridgeAddressOf({ NetworkSettings: {} } as never, NETWORK)).toBeNull();
  });

  it("is never an address that points back at the host, nowhere, or anything but one IPv4 host", () => {
    for (const address of [
      "",
      "127.0.0.1",
      "127.1.2.3",
      "0.0.0.0",
      "169.254.169.254",
      "224.0.0.1",
      "255.255.255.255",
      "::1",
      "fe80::1",
      "localhost",
      "example.com",
      "172.18.0.7:3000",
      "172.18.0.7\r\nHost: elsewhere",
      "172.18.0.256",
      42,
      null,
    ]) {
      expect(bridgeAddressOf(inspected({ [NETWORK]: { IPAddress: address } }), NETWORK), String(address)).toBeNull();
    }
  });
});

describe("the port os2 connects to", () => {
  it("is an integer from 1 to 65535, and anything else is refused naming the field", () => {
    expect(checkedPort(1)).toBe(1);
    expect(checkedPort(65535)).toBe(65535);
    for (const port of [0, -1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => checkedPort(port), String(port)).toThrow(/^port: must be an integer from 1 to 65535/);
    }
  });
});

describe("the TCP probe", () => {
  it("tells a listening port (open) from a closed one (refused): both prove the address answers", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await probeTcp("127.0.0.1", port, 1_000)).toBe("open");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await probeTcp("127.0.0.1", port, 1_000)).toBe("refused");
  });
});

describe("the per-machine decision whether the host reaches the bridge", () => {
  const counting = (result: ProbeResult) => {
    const calls: string[] = [];
    const probe = async (host: string, port: number) => {
      calls.push(`${host}:${port}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return result;
    };
    return { calls, probe };
  };

  it("is made once per machine and address, however many ask at once, and afresh for a new address", async () => {
    const { calls, probe } = counting("open");
    const reachability = new BridgeReachability(probe);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => reachability.reachable("c1", "172.18.0.7", 3000)),
    );
    expect(answers).toEqual([true, true, true, true, true]);
    expect(await reachability.reachable("c1", "172.18.0.7", 3000)).toBe(true);
    expect(calls).toEqual(["172.18.0.7:3000"]);
    // Restarted with another address: decided again, for that address.
    await reachability.reachable("c1", "172.18.0.9", 3000);
    expect(calls).toEqual(["172.18.0.7:3000", "172.18.0.9:3000"]);
  });

  it("counts a refusal as reachable (the daemon is still starting) and silence as out of reach", async () => {
    expect(await new BridgeReachability(counting("refused").probe).reachable("c1", "172.18.0.7", 3000)).toBe(true);
    const silent = counting("unreachable");
    const reachability = new BridgeReachability(silent.probe);
    expect(await reachability.reachable("c1", "172.18.0.7", 3000)).toBe(false);
    expect(await reachability.reachable("c1", "172.18.0.7", 3000)).toBe(false);
    expect(silent.calls).toHaveLength(1);
  });
});
