/** A prefix from a config file: parsed, plus its text as written, so printing it back changes nothing. */
export interface Cidr {
  /** 4 or 16 bytes, host bits kept (an interface Address such as 10.0.0.7/24 needs them). */
  addr: Uint8Array;
  cidr: number;
  family: 4 | 6;
  text: string;
}

/** A peer's address. `host` is an IP literal (canonical text, no brackets) or a hostname left unresolved. */
export interface WgEndpoint {
  host: string;
  port: number;
}

export interface WgInterfaceConfig {
  privateKey: Uint8Array;
  listenPort?: number;
  addresses: Cidr[];
  mtu?: number;
  /** wg-quick's DNS entries as written: resolver addresses and search domains. Kept, not applied. */
  dns: string[];
  /** wg-quick's Table: "off", "auto", a table number or a name from rt_tables (burrowd/table.ts). */
  table?: string;
  /** SO_MARK for the UDP sockets, which Burrow's bypass rules then match; "off" reads as 0. */
  fwMark?: number;
  /** wg-quick's SaveConfig: write the running config back to the file on the way down. */
  saveConfig?: boolean;
  /** wg-quick's hooks, one shell command each, in file order; "%i" stands for the interface name. */
  preUp?: string[];
  postUp?: string[];
  preDown?: string[];
  postDown?: string[];
}

export interface WgPeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  allowedIps: Cidr[];
  endpoint?: WgEndpoint;
  /** Seconds; "off" reads as 0. */
  persistentKeepalive?: number;
}

export interface WgConfig {
  interface: WgInterfaceConfig;
  peers: WgPeerConfig[];
}

/** Why a config file was refused: `source:line: Key: reason`, naming as much of that as applies. */
export class WgConfigError extends Error {
  override readonly name = 'WgConfigError';

  constructor(
    readonly source: string,
    readonly line: number | null,
    readonly key: string | null,
    readonly reason: string,
  ) {
    super(`${source}${line === null ? '' : `:${line}`}: ${key === null ? '' : `${key}: `}${reason}`);
  }
}
