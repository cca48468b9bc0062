/**
 * `local-docker` machines: one container per machine on a Docker Engine reachable over TCP or a unix socket.
 *
 * - The container is created from the newest build of `imageName` (pinned by image id at create time).
 * - os2 connects to a machine's ports at its address on the os2 bridge network, where the host reaches it
 *   (machine-address.ts); otherwise at port 3000 (the daemon) and any preview ports, published on 127.0.0.1
 *   only, on ports Docker picks. Addresses and host ports change on every restart, so every port lookup
 *   inspects the container afresh.
 * - Containers carry os2's labels; `list` only ever sees containers with `os2.managed=true` of this stage.
 * - Every call has a deadline and honours the caller's AbortSignal. Docker errors become `ProviderError`s in
 *   `toProviderError` (map-docker-error.ts) and nowhere else.
 */
import { forwardPath, LOG_LINE_CUT_MARK, LOG_LINE_MAX_CHARS } from "@os2/protocol";
import type Dockerode from "dockerode";

import { ProviderError } from "../errors";
import type {
  Availability,
  CreateMachineInput,
  CreateMachineResult,
  DaemonEndpoint,
  InspectResult,
  LimitsSupport,
  ListedMachine,
  MachineLabels,
  MachineLimits,
  MachineProvider,
  UsageReading,
} from "../types";
import {
  buildContainerSpec,
  containerNameFor,
  DAEMON_PORT,
  ENV_VAR_NAME_PATTERN,
  isolationHostConfig,
  listStatusToProviderState,
  readPublishedPorts,
  toEnvArray,
  toProviderState,
} from "./container-config";
import { demuxDockerLogs, DockerLogDemuxer, LogLineSplitter } from "./demux-logs";
import { DEFAULT_DOCKER_HOST, toDockerodeOptions } from "./docker-host";
import { DockerStatsReader, LineSplitter } from "./docker-stats";
import {
  bridgeAddressOf,
  BridgeReachability,
  checkedPort,
  PORT_PROBE_TIMEOUT_MS,
  type Probe,
  probeTcp,
} from "./machine-address";
import {
  type DockerCallContext,
  dockerUnreachableMessage,
  imageMissingMessage,
  statusCode,
  toProviderError,
} from "./map-docker-error";

export type LocalDockerProviderConfig = {
  /** `tcp://127.0.0.1:2375` (default) or `unix:///var/run/docker.sock`; see `resolveDockerHost`. */
  dockerHost?: string;
  /** e.g. `iterate-sandbox:local`; the entry point supplies the default. */
  imageName: string;
  /** os2's stage; `list` never returns containers of another stage sharing the same engine. */
  stage: string;
  daemonPort?: number;
  previewPorts?: number[];
  /** Seconds between SIGTERM and SIGKILL on stop. The image's entry forwards SIGTERM, so this can be short. */
  stopTimeoutSeconds?: number;
  /** The network machines join; created on first use with inter-container traffic disabled. */
  network?: string;
  /** Docker runtime (`runc` by default). */
  runtime?: string;
  /**
   * Whether os2 may connect to machines at their bridge address when the host reaches it (default true);
   * false keeps to the published ports and the daemon's forward.
   */
  bridgeAddresses?: boolean;
  /** The TCP probe behind that decision (machine-address.ts); tests pass their own. */
  addressProbe?: Probe;
};

export const DEFAULT_MACHINE_NETWORK = "os2-machines";
/** Storage drivers whose `--storage-opt size=` enforces a size on a container's writable layer. */
const QUOTA_DRIVERS = new Set(["btrfs", "zfs", "windowsfilter"]);

// Deadlines per kind of call. Fast calls get short ones so an unresponsive engine fails at once rather
// than after a long hang; container create/start/remove can take seconds on a busy engine.
// Generous enough for an engine busy building images on a 2-core machine, short enough to fail "at once".
const PING_TIMEOUT_MS = 4_000;
const QUICK_TIMEOUT_MS = 5_000;
const SLOW_TIMEOUT_MS = 30_000;
const AVAILABILITY_CACHE_MS = 5_000;

/** How long a create's own inspect stands for its container's first endpoint lookup, and how many are kept. */
const JUST_STARTED_MS = 2_000;
const JUST_STARTED_MAX = 256;

type CallOptions = Pick<DockerCallContext, "onNotFound"> & { signal?: AbortSignal; timeoutMs: number };

export class LocalDockerProvider implements MachineProvider {
  readonly type = "local-docker" as const;
  readonly dockerHost: string;
  /** dockerode, loaded on first use (about 0.2 s of a server start otherwise, before it can answer). */
  private dockerClient: Promise<Dockerode> | null = null;
  private readonly imageName: string;
  private readonly stage: string;
  private readonly daemonPort: number;
  private readonly ports: readonly number[];
  private readonly stopTimeoutSeconds: number;
  private readonly network: string;
  private readonly runtime: string;
  private availableUntil = 0;
  private networkReady: Promise<void> | null = null;
  private support: Promise<LimitsSupport> | null = null;
  private readonly addressProbe: Probe;
  private readonly bridge: BridgeReachability | null;
  /**
   * The inspect a create ended with, for the first daemonEndpoint of that container (the create's health
   * wait asks at once): one Docker round trip fewer on every cold create. Taken once, and only within
   * JUST_STARTED_MS; every later call inspects afresh, and a start, stop, delete or inspect drops it. A
   * container that dies in that moment fails its first health poll, and the next lookup asks Docker.
   */
  private readonly justStarted = new Map<string, { info: Dockerode.ContainerInspectInfo; at: number }>();

  constructor(config: LocalDockerProviderConfig) {
    this.dockerHost = config.dockerHost ?? DEFAULT_DOCKER_HOST;
    this.imageName = config.imageName;
    this.stage = config.stage;
    this.daemonPort = config.daemonPort ?? DAEMON_PORT;
    this.ports = [...new Set([this.daemonPort, ...(config.previewPorts ?? [])])];
    this.stopTimeoutSeconds = config.stopTimeoutSeconds ?? 3;
    this.network = config.network ?? DEFAULT_MACHINE_NETWORK;
    this.runtime = config.runtime ?? "runc";
    this.addressProbe = config.addressProbe ?? probeTcp;
    this.bridge = config.bridgeAddresses === false ? null : new BridgeReachability(this.addressProbe);
  }

  /** Per-machine CPU, memory and processes always; a disk quota only on storage drivers that enforce one. */
  limitsSupport(signal?: AbortSignal): Promise<LimitsSupport> {
    this.support ??= this.call("read engine info", { signal, timeoutMs: QUICK_TIMEOUT_MS }, async () =>
      (await this.engine()).info(),
    )
      .then((info: { Driver?: string; DriverStatus?: [string, string][] }) => {
        const driver = info.Driver ?? "unknown";
        const backing = info.DriverStatus?.find(([key]) => key === "Backing Filesystem")?.[1] ?? "";
        // overlay2 enforces sizes only on xfs mounted with pquota; without a way to read the mount options
        // here, xfs is taken as a maybe and the first create with a quota tells.
        const diskQuota = QUOTA_DRIVERS.has(driver) || (driver === "overlay2" && backing === "xfs");
        const notes = diskQuota
          ? []
          : [
              `Disk is not limited: Docker's ${driver} storage driver${backing ? ` on ${backing}` : ""} has no per-container quota.`,
            ];
        return { perMachine: true, diskQuota, notes };
      })
      .catch((error: unknown) => {
        this.support = null;
        throw error;
      });
    return this.support;
  }

  /**
   * The os2 network, created on first use: a bridge with inter-container traffic disabled, so no machine
   * can reach another's address. An existing network of that name that allows it is refused, not used.
   */
  private ensureNetwork(signal?: AbortSignal): Promise<void> {
    this.networkReady ??= (async () => {
      type NetworkInfo = { Options?: Record<string, string> };
      const docker = await this.engine();
      const handle = docker.getNetwork(this.network);
      // @types/dockerode lacks inspect's options overload; dockerode 5 accepts { abortSignal }.
      const inspect = handle.inspect.bind(handle) as unknown as (options: {
        abortSignal: AbortSignal;
      }) => Promise<NetworkInfo>;
      const inspectNetwork = () =>
        this.call(`inspect network ${this.network}`, { signal, timeoutMs: QUICK_TIMEOUT_MS }, (abortSignal) =>
          inspect({ abortSignal }).catch((error: unknown) => {
            if (statusCode(error) === 404) return null;
            throw error;
          }),
        );
      let network = await inspectNetwork();
      if (!network) {
        await this.call(`create network ${this.network}`, { signal, timeoutMs: QUICK_TIMEOUT_MS }, () =>
          ignoreStatuses(
            docker.createNetwork({
              Name: this.network,
              Driver: "bridge",
              CheckDuplicate: true,
              Options: { "com.docker.network.bridge.enable_icc": "false" },
              Labels: { "os2.managed": "true" },
            }),
            [409],
          ),
        );
        network = await inspectNetwork();
      }
      if (network?.Options?.["com.docker.network.bridge.enable_icc"] !== "false") {
        throw new ProviderError(
          "unavailable",
          `The Docker network ${this.network} exists but lets containers reach each other. Remove it ` +
            `(docker network rm ${this.network}) so os2 can create it with inter-container traffic disabled, ` +
            "or set OS2_MACHINE_NETWORK to another name.",
        );
      }
    })().catch((error: unknown) => {
      this.networkReady = null;
      throw error;
    });
    return this.networkReady;
  }

  async availability(signal?: AbortSignal): Promise<Availability> {
    if (Date.now() < this.availableUntil) return { available: true };
    try {
      // @types/dockerode 4 lacks ping's options overload; dockerode 5 accepts { abortSignal }.
      const docker = await this.engine();
      const ping = docker.ping.bind(docker) as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
      await this.call("ping", { signal, timeoutMs: PING_TIMEOUT_MS }, (abortSignal) => ping({ abortSignal }));
      await this.resolveImageId(signal, PING_TIMEOUT_MS);
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason =
        error instanceof ProviderError
          ? this.availabilityReason(error)
          : error instanceof Error
            ? error.message
            : String(error);
      const unreachable = error instanceof ProviderError && (error.kind === "unreachable" || error.kind === "timeout");
      return { available: false, reason, ...(unreachable ? { unreachable } : {}) };
    }
    // Only successes are cached: once the user fixes Docker, the next check should see it.
    this.availableUntil = Date.now() + AVAILABILITY_CACHE_MS;
    return { available: true };
  }

  async create(input: CreateMachineInput): Promise<CreateMachineResult> {
    const env = toEnvArray(input.envVars);
    if (!env.ok) {
      // Services validate names first; this guards the Docker boundary, where a name containing `=` would
      // silently set another variable.
      throw new ProviderError(
        "invalid_state",
        `Invalid env var name(s): ${env.invalidNames.map((n) => JSON.stringify(n)).join(", ")}. ` +
          `Names must match ${ENV_VAR_NAME_PATTERN.source}.`,
      );
    }
    // A short deadline on the first call: an unreachable engine fails create at once.
    const imageId = await this.resolveImageId(input.signal, QUICK_TIMEOUT_MS);
    const [, support] = await Promise.all([this.ensureNetwork(input.signal), this.limitsSupport(input.signal)]);
    const { machineId, labels } = input;
    const spec = buildContainerSpec({
      machineId,
      labels,
      env: env.env,
      imageId,
      ports: this.ports,
      limits: input.limits,
      profile: input.profile,
      network: this.network,
      runtime: this.runtime,
      diskQuota: support.diskQuota,
    });
    let containerId: string | undefined;
    try {
      containerId = await this.createOrAdoptContainer(spec, input.machineId, input.signal);
      await this.start(containerId, input.signal);
      const info = await this.inspectContainer(containerId, input.signal);
      this.rememberJustStarted(containerId, info);
      return { externalId: containerId, metadata: this.metadataFor(info) };
    } catch (error) {
      // No orphans: a machine whose create failed must not leave its container behind. Cleanup ignores the
      // caller's signal (it may be the reason we are here) and uses its own deadlines.
      await this.removeFailedCreate(input.machineId, containerId).catch(() => undefined);
      throw error;
    }
  }

  /** The image id `imageName` points to now: a rebuild changes it. */
  imageVersion(signal?: AbortSignal): Promise<string> {
    return this.resolveImageId(signal, QUICK_TIMEOUT_MS);
  }

  /** `docker update`: the same CPU, memory (no swap) and process limits a create would set. */
  async updateLimits(externalId: string, limits: MachineLimits, signal?: AbortSignal): Promise<void> {
    const { NanoCpus, Memory, MemorySwap, PidsLimit } = isolationHostConfig({
      limits,
      profile: "strict",
      network: this.network,
      runtime: this.runtime,
      diskQuota: false,
    });
    const container = (await this.engine()).getContainer(externalId);
    await this.call(`update container ${externalId}`, { signal, timeoutMs: QUICK_TIMEOUT_MS }, (abortSignal) =>
      container.update({ NanoCpus, Memory, MemorySwap, PidsLimit, abortSignal }),
    );
  }

  async start(externalId: string, signal?: AbortSignal): Promise<void> {
    this.justStarted.delete(externalId);
    const container = (await this.engine()).getContainer(externalId);
    await this.call(`start container ${externalId}`, { signal, timeoutMs: SLOW_TIMEOUT_MS }, (abortSignal) =>
      ignoreStatuses(container.start({ abortSignal }), [304]),
    );
  }

  async stop(externalId: string, signal?: AbortSignal): Promise<void> {
    this.justStarted.delete(externalId);
    const container = (await this.engine()).getContainer(externalId);
    const timeoutMs = this.stopTimeoutSeconds * 1_000 + SLOW_TIMEOUT_MS;
    await this.call(`stop container ${externalId}`, { signal, timeoutMs }, (abortSignal) =>
      ignoreStatuses(container.stop({ t: this.stopTimeoutSeconds, abortSignal }), [304, 404]),
    );
  }

  /**
   * Local Docker has no cheaper storage tier than a stopped container, so archiving stops the container
   * and keeps it (filesystem included); unarchive is a plain `start`. Daytona archives for real.
   */
  async archive(externalId: string, signal?: AbortSignal): Promise<void> {
    await this.stop(externalId, signal);
  }

  async delete(externalId: string, signal?: AbortSignal): Promise<void> {
    this.justStarted.delete(externalId);
    const container = (await this.engine()).getContainer(externalId);
    // 404: already gone. 409: Docker is already removing it ("removal … is already in progress").
    await this.call(`remove container ${externalId}`, { signal, timeoutMs: SLOW_TIMEOUT_MS }, (abortSignal) =>
      ignoreStatuses(container.remove({ force: true, v: true, abortSignal }), [404, 409]),
    );
  }

  async inspect(externalId: string, signal?: AbortSignal): Promise<InspectResult> {
    // Whoever asks for the container's state wants Docker's word now, not the create's.
    this.justStarted.delete(externalId);
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.inspectContainer(externalId, signal);
    } catch (error) {
      if (error instanceof ProviderError && error.kind === "not_found") return { state: "missing", metadata: {} };
      throw error;
    }
    const state = toProviderState(info.State);
    const error = info.State.OOMKilled ? "Container was killed: out of memory" : info.State.Error || undefined;
    return { state, metadata: this.metadataFor(info), ...(error ? { error } : {}) };
  }

  async list(labels: Partial<MachineLabels>, signal?: AbortSignal): Promise<ListedMachine[]> {
    const filter: Record<string, string> = { "os2.stage": this.stage, ...labels, "os2.managed": "true" };
    const label = Object.entries(filter).map(([key, value]) => `${key}=${value}`);
    const docker = await this.engine();
    const containers = await this.call("list containers", { signal, timeoutMs: QUICK_TIMEOUT_MS }, (abortSignal) =>
      docker.listContainers({ all: true, filters: { label }, abortSignal }),
    );
    return containers.map((c) => ({
      externalId: c.Id,
      labels: c.Labels,
      state: listStatusToProviderState(c.State),
      createdAt: new Date(c.Created * 1000),
    }));
  }

  async daemonEndpoint(externalId: string, port: number, signal?: AbortSignal): Promise<DaemonEndpoint> {
    checkedPort(port);
    // A fresh inspect (Docker picks a new address and host port each time the container starts), or the one
    // its create ended with a moment ago.
    const info = this.takeJustStarted(externalId) ?? (await this.inspectContainer(externalId, signal));
    const name = info.Name.replace(/^\//, "");
    if (!info.State.Running) {
      const message = `Machine container ${name} is ${info.State.Status}, not running. Start the machine first.`;
      throw new ProviderError("invalid_state", message);
    }
    const direct = await this.bridgeEndpoint(info, port);
    if (direct) return direct;
    const published = readPublishedPorts(info.NetworkSettings.Ports);
    const daemonHostPort = published[this.daemonPort];
    if (daemonHostPort === undefined) {
      throw new ProviderError(
        "not_found",
        `The daemon port ${this.daemonPort} of machine container ${name} is not published.`,
      );
    }
    const daemon = `http://127.0.0.1:${daemonHostPort}`;
    if (port === this.daemonPort)
      return { url: daemon, headers: {}, credentialHeader: "authorization", forwardsHost: true };
    // A port published by configuration is reached directly; any other through the daemon's forward.
    const hostPort = published[port];
    if (hostPort !== undefined) return { url: `http://127.0.0.1:${hostPort}`, headers: {}, forwardsHost: true };
    return {
      url: `${daemon}${forwardPath(port, "")}`,
      headers: {},
      credentialHeader: "x-os2-machine-token",
      forwardsHost: true,
    };
  }

  /**
   * The shortest path (machine-address.ts): the container's bridge address, when this host reaches it. The
   * daemon's port and the ports published by configuration (whose apps listen on every interface, or
   * docker-proxy could not reach them either) go there directly; another port goes there when something
   * listens on the bridge address, and otherwise through the daemon's forward at the same address.
   */
  private async bridgeEndpoint(info: Dockerode.ContainerInspectInfo, port: number): Promise<DaemonEndpoint | null> {
    const address = this.bridge && bridgeAddressOf(info, this.network);
    if (!address || !(await this.bridge?.reachable(info.Id, address, this.daemonPort))) return null;
    const daemon = `http://${address}:${this.daemonPort}`;
    if (port === this.daemonPort)
      return { url: daemon, headers: {}, credentialHeader: "authorization", forwardsHost: true };
    if (this.ports.includes(port) || (await this.addressProbe(address, port, PORT_PROBE_TIMEOUT_MS)) === "open")
      return { url: `http://${address}:${port}`, headers: {}, forwardsHost: true };
    return {
      url: `${daemon}${forwardPath(port, "")}`,
      headers: {},
      credentialHeader: "x-os2-machine-token",
      forwardsHost: true,
    };
  }

  async logs(externalId: string, options: { tail: number }, signal?: AbortSignal): Promise<string> {
    const container = (await this.engine()).getContainer(externalId);
    const operation = `read logs of container ${externalId}`;
    const raw: unknown = await this.call(operation, { signal, timeoutMs: QUICK_TIMEOUT_MS }, (abortSignal) =>
      container.logs({ stdout: true, stderr: true, follow: false, tail: options.tail, abortSignal }),
    );
    // docker-modem hands back a Buffer, unless the text happened to parse as JSON (a TTY container).
    if (Buffer.isBuffer(raw)) return demuxDockerLogs(raw);
    return typeof raw === "string" ? raw : JSON.stringify(raw);
  }

  /**
   * A long-lived Docker stream (logs, stats): only its opening has a deadline. One that Docker hands over
   * after the deadline passed is closed at once.
   */
  private async openStream(
    operation: string,
    signal: AbortSignal,
    opening: Promise<DestroyableStream>,
  ): Promise<DestroyableStream> {
    return this.call(operation, { signal, timeoutMs: QUICK_TIMEOUT_MS }, () => opening).catch((error: unknown) => {
      void opening.then((late) => late.destroy()).catch(() => undefined);
      throw error;
    });
  }

  /** A stream that broke while being read (not by the caller's abort), as a provider error. */
  private streamError(error: unknown, operation: string, signal: AbortSignal) {
    return toProviderError(error, {
      operation,
      dockerHost: this.dockerHost,
      timeoutMs: QUICK_TIMEOUT_MS,
      callerSignal: signal,
      deadline: new AbortController().signal,
    });
  }

  /**
   * `docker logs --follow`, demultiplexed into whole lines. Only the open has a deadline. The engine's
   * stream is read only when the caller pulls the next batch (so a slow reader holds Docker back through
   * TCP, never a growing buffer here), and `signal` or the caller's leaving destroys it.
   */
  async *followLogs(externalId: string, options: { tail: number }, signal: AbortSignal): AsyncIterable<string[]> {
    const container = (await this.engine()).getContainer(externalId);
    const opening = container.logs({
      stdout: true,
      stderr: true,
      follow: true,
      tail: options.tail,
      abortSignal: signal,
    }) as Promise<unknown> as Promise<DestroyableStream>;
    const operation = `follow logs of container ${externalId}`;
    const stream = await this.openStream(operation, signal, opening);
    const demuxer = new DockerLogDemuxer();
    const splitters = new Map<number, LogLineSplitter>();
    const splitterFor = (stream: number) => {
      let splitter = splitters.get(stream);
      if (!splitter) splitters.set(stream, (splitter = new LogLineSplitter(LOG_LINE_MAX_CHARS, LOG_LINE_CUT_MARK)));
      return splitter;
    };
    try {
      for await (const chunk of stream) {
        const lines: string[] = [];
        for (const piece of demuxer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)))
          lines.push(...splitterFor(piece.stream).push(piece.data));
        if (lines.length > 0) yield lines;
      }
      const rest = [...splitters.values()].flatMap((splitter) => splitter.end());
      if (rest.length > 0) yield rest;
    } catch (error) {
      if (signal.aborted) return;
      throw this.streamError(error, operation, signal);
    } finally {
      stream.destroy();
    }
  }

  /**
   * Docker's stats stream: one reading a second while the container runs, until `signal` aborts. Only the
   * open has a deadline; the stream itself lasts as long as someone reads it. Ends when the container stops.
   */
  async *usage(externalId: string, signal: AbortSignal): AsyncIterable<UsageReading> {
    const container = (await this.engine()).getContainer(externalId);
    // @types/dockerode lacks the signal on stats' stream overload; dockerode 5 passes { abortSignal } on.
    const stats = container.stats.bind(container) as unknown as (options: {
      stream: true;
      abortSignal: AbortSignal;
    }) => Promise<DestroyableStream>;
    const opening = stats({ stream: true, abortSignal: signal });
    const operation = `read stats of container ${externalId}`;
    const stream = await this.openStream(operation, signal, opening);
    const splitter = new LineSplitter();
    const reader = new DockerStatsReader();
    try {
      for await (const chunk of stream) {
        for (const line of splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))) {
          const reading = reader.readLine(line);
          // A stopped container's samples carry no processes and a zero time: the machine is no longer running.
          if (reading?.stopped) return;
          if (reading) yield reading.reading;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw this.streamError(error, operation, signal);
    } finally {
      stream.destroy();
    }
  }

  /**
   * The size of the container's writable layer (`SizeRw`): everything the machine wrote, since machines
   * have no volumes. Docker walks the layer to answer, so callers ask at a slow cadence.
   */
  async diskUsage(externalId: string, signal?: AbortSignal): Promise<number | null> {
    const container = (await this.engine()).getContainer(externalId);
    // @types/dockerode lacks inspect's `size` option; with it Docker adds SizeRw.
    const inspect = container.inspect.bind(container) as unknown as (options: object) => Promise<unknown>;
    const info: unknown = await this.call(
      `read disk use of container ${externalId}`,
      { signal, timeoutMs: SLOW_TIMEOUT_MS },
      (abortSignal) => inspect({ size: true, abortSignal }),
    );
    const size = (info as { SizeRw?: unknown } | null)?.SizeRw;
    return typeof size === "number" && Number.isFinite(size) && size >= 0
      ? Math.min(Math.round(size), Number.MAX_SAFE_INTEGER)
      : null;
  }

  /** The id of the image's newest build; a missing image makes the provider unavailable. */
  private async resolveImageId(signal: AbortSignal | undefined, timeoutMs: number): Promise<string> {
    const onNotFound = { kind: "unavailable" as const, message: imageMissingMessage(this.imageName) };
    const info = await this.call(`inspect image ${this.imageName}`, { signal, timeoutMs, onNotFound }, (abortSignal) =>
      this.inspectImage(abortSignal),
    );
    return info.Id;
  }

  /**
   * Creates the container, or adopts the one an earlier attempt for the same machine created before a crash
   * (the name is derived from the machine id, so a retry collides with it). A container with that name but
   * another machine id is not ours to touch.
   */
  private async createOrAdoptContainer(
    spec: Dockerode.ContainerCreateOptions,
    machineId: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const name = containerNameFor(machineId);
    const options = { signal, timeoutMs: SLOW_TIMEOUT_MS };
    const createdId = await this.call(`create container ${name}`, options, async (abortSignal) => {
      try {
        return (await (await this.engine()).createContainer({ ...spec, abortSignal })).id;
      } catch (error) {
        if (statusCode(error) === 409) return undefined; // name taken: see below
        throw error;
      }
    });
    if (createdId !== undefined) return createdId;
    const existing = await this.inspectContainer(name, signal);
    if (existing.Config.Labels?.["os2.machine-id"] !== machineId) {
      throw new ProviderError(
        "invalid_state",
        `A container named ${name} exists but was not created by os2 for machine ${machineId}. ` +
          `Remove it with: docker rm -f ${name}`,
      );
    }
    return existing.Id;
  }

  private async removeFailedCreate(machineId: string, containerId: string | undefined): Promise<void> {
    if (containerId !== undefined) return this.delete(containerId);
    // createContainer itself failed or was aborted mid-request; Docker may have created the container anyway.
    // If it completes after this check, the reconciler removes it as a labelled orphan.
    const existing = await this.inspectContainer(containerNameFor(machineId)).catch(() => undefined);
    if (existing?.Config.Labels?.["os2.machine-id"] === machineId) await this.delete(existing.Id);
  }

  /**
   * dockerode's `Image.inspect` drops the abort signal, which would leave a request open on a hung engine;
   * this is the same request (unencoded name, as dockerode sends it) with the signal passed through.
   */
  private async inspectImage(abortSignal: AbortSignal): Promise<Dockerode.ImageInspectInfo> {
    const docker = await this.engine();
    return new Promise((resolve, reject) => {
      docker.modem.dial(
        {
          path: `/images/${this.imageName}/json`,
          method: "GET",
          abortSignal,
          options: {},
          statusCodes: { 200: true, 404: "no such image", 500: "server error" },
        },
        (error: unknown, data: unknown) => (error ? reject(error) : resolve(data as Dockerode.ImageInspectInfo)),
      );
    });
  }

  /** The Docker client, made on first use. */
  private engine(): Promise<Dockerode> {
    this.dockerClient ??= import("dockerode").then(
      ({ default: Client }) => new Client(toDockerodeOptions(this.dockerHost)),
    );
    return this.dockerClient;
  }

  private rememberJustStarted(externalId: string, info: Dockerode.ContainerInspectInfo) {
    const now = Date.now();
    for (const [id, entry] of this.justStarted) {
      if (now - entry.at > JUST_STARTED_MS || this.justStarted.size >= JUST_STARTED_MAX) this.justStarted.delete(id);
    }
    this.justStarted.set(externalId, { info, at: now });
  }

  private takeJustStarted(externalId: string): Dockerode.ContainerInspectInfo | null {
    const entry = this.justStarted.get(externalId);
    if (!entry) return null;
    this.justStarted.delete(externalId);
    return Date.now() - entry.at <= JUST_STARTED_MS ? entry.info : null;
  }

  private async inspectContainer(idOrName: string, signal?: AbortSignal): Promise<Dockerode.ContainerInspectInfo> {
    const container = (await this.engine()).getContainer(idOrName);
    return this.call(`inspect container ${idOrName}`, { signal, timeoutMs: QUICK_TIMEOUT_MS }, (abortSignal) =>
      container.inspect({ abortSignal }),
    );
  }

  private metadataFor(info: Dockerode.ContainerInspectInfo): Record<string, unknown> {
    const ports = readPublishedPorts(info.NetworkSettings.Ports);
    return {
      containerId: info.Id,
      containerName: info.Name.replace(/^\//, ""),
      imageId: info.Image,
      imageName: this.imageName,
      port: ports[this.daemonPort] ?? null,
      ports,
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      startedAt: info.State.StartedAt,
      finishedAt: info.State.FinishedAt,
    };
  }

  private availabilityReason(error: ProviderError): string {
    if (error.kind === "timeout")
      return dockerUnreachableMessage(this.dockerHost, `no answer within ${PING_TIMEOUT_MS} ms`);
    return error.message;
  }

  /**
   * Runs one Docker call under a deadline combined with the caller's signal. The signal is handed to
   * dockerode (which aborts the HTTP request) and also raced here, because some dockerode methods ignore it.
   */
  private async call<T>(
    operation: string,
    options: CallOptions,
    run: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const abortSignal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const context: DockerCallContext = {
      operation,
      dockerHost: this.dockerHost,
      timeoutMs: options.timeoutMs,
      callerSignal: options.signal,
      deadline,
      onNotFound: options.onNotFound,
    };
    try {
      if (abortSignal.aborted) throw abortSignal.reason;
      return await raceAbort(run(abortSignal), abortSignal);
    } catch (error) {
      throw toProviderError(error, context);
    }
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Idempotency: treat the given HTTP statuses (304 "already started", 404 "already gone"…) as success. */
async function ignoreStatuses(promise: Promise<unknown>, statuses: readonly number[]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    const status = statusCode(error);
    if (status !== undefined && statuses.includes(status)) return;
    throw error;
  }
}

type DestroyableStream = AsyncIterable<Buffer | string> & { destroy(): void };
