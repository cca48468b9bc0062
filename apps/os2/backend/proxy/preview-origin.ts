/**
 * The preview origin: every port of every machine gets its own origin, built from a template such as
 * `https://{port}--{machine}.preview.example.com` (OS2_PREVIEW_URL), so nothing a machine serves ever runs
 * on the dashboard's origin. The same os2 process serves both and tells them apart by the `Host` header.
 *
 * `{machine}` is the machine id in host-name form: `mach_01jx…` becomes `mach-01jx…`, since an underscore
 * is not allowed in a DNS name (nor in a certificate's).
 */
const PORT = "(\\d{1,5})";
const MACHINE = "mach-([0-9a-z]{26})";

export type PreviewTarget = { machineId: string; port: number };

export class PreviewOrigin {
  private readonly hostPattern: RegExp;
  private readonly scheme: string;

  private constructor(private readonly template: string) {
    const url = new URL(template.replace("{port}", "3000").replace("{machine}", `mach-${"0".repeat(26)}`));
    this.scheme = url.protocol;
    const hostTemplate = template.slice(template.indexOf("//") + 2).replace(/\/.*$/, "");
    const escaped = hostTemplate.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    this.hostPattern = new RegExp(`^${escaped.replace("{port}", PORT).replace("{machine}", MACHINE)}$`, "i");
  }

  /** Throws with a message naming OS2_PREVIEW_URL when the template cannot work. */
  static fromTemplate(template: string): PreviewOrigin {
    const example = "e.g. https://{port}--{machine}.preview.example.com";
    const trimmed = template.trim().replace(/\/$/, "");
    let filled: URL;
    try {
      filled = new URL(trimmed.replace("{port}", "3000").replace("{machine}", `mach-${"0".repeat(26)}`));
    } catch {
      throw new Error(`OS2_PREVIEW_URL is not a URL once {port} and {machine} are filled in (${example})`);
    }
    const host = filled.host;
    if (!host.includes("3000") || !host.includes(`mach-${"0".repeat(26)}`)) {
      throw new Error(`OS2_PREVIEW_URL must put {port} and {machine} in the host name (${example})`);
    }
    if (filled.pathname !== "/" || filled.search || filled.hash || !["http:", "https:"].includes(filled.protocol)) {
      throw new Error(`OS2_PREVIEW_URL must be an http(s) origin, without a path (${example})`);
    }
    return new PreviewOrigin(trimmed);
  }

  /** The default: `http://{port}--{machine}.localhost:<port>`; browsers and curl resolve `*.localhost` to loopback. */
  static defaultFor(listenPort: number): PreviewOrigin {
    return new PreviewOrigin(`http://{port}--{machine}.localhost:${listenPort}`);
  }

  get secure(): boolean {
    return this.scheme === "https:";
  }

  /** The origin (no trailing slash) of one port of one machine. */
  urlFor(machineId: string, port: number): string {
    return this.template.replace("{port}", String(port)).replace("{machine}", machineId.replace(/^mach_/, "mach-"));
  }

  /** Which machine and port a request's `Host` names, or null when it is not a preview host. */
  match(host: string | undefined | null): PreviewTarget | null {
    if (!host || host.length > 255) return null;
    const found = this.hostPattern.exec(host);
    if (!found) return null;
    const portText = this.template.indexOf("{port}") < this.template.indexOf("{machine}") ? found[1] : found[2];
    const machineText = portText === found[1] ? found[2] : found[1];
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535 || !machineText) return null;
    return { machineId: `mach_${machineText.toLowerCase()}`, port };
  }

  /** Whether an `Origin` header is a preview origin of this machine (any port). */
  isOriginOfMachine(origin: string, machineId: string): boolean {
    try {
      const url = new URL(origin);
      if (url.protocol !== this.scheme) return false;
      return this.match(url.host)?.machineId === machineId;
    } catch {
      return false;
    }
  }
}
