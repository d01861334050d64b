import type { ClientMessage, Netmap, NodeInfo, ServerMessage } from '../../src/control/messages.js';
import { autoApprovedRoutes, parsePolicy } from '../../src/policy/index.js';
import type { ControlConnection, ServerChannel } from '../control/listener.js';
import { policyContext } from '../policy-context.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { NetmapBuilder } from './netmap.js';

interface Stream {
  deviceId: string;
  networkId: string;
  channel: ServerChannel;
  last: Netmap;
}

export interface CoordinatorOptions {
  store: Store;
  builder: NetmapBuilder;
  /** Where users sign in: login URLs are `${publicUrl()}/login/<session>`. */
  publicUrl: () => string;
  /** Unix wall-clock ms. */
  now: () => number;
  log?: (message: string) => void;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * The control plane's live half: registers devices over their control channels, streams each one
 * its map (a full map, then deltas), and follows the store's change feed, so changes made by any
 * process (the admin CLI included) reach the devices they concern.
 */
export class Coordinator {
  private readonly streams = new Map<string, Stream>();
  private readonly pendingLogins = new Map<string, ServerChannel>();
  private seq: number;
  private stopped = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.seq = options.store.currentSeq();
  }

  /** Stops touching the store: connections closing during shutdown leave devices as they were. */
  stop(): void {
    this.stopped = true;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  accept(connection: ControlConnection): void {
    const machineKey = b64(connection.machineKey);
    const { channel } = connection;
    let deviceId: string | null = null;
    channel.onMessage((message) => {
      try {
        deviceId = this.handle(message, machineKey, deviceId, channel) ?? deviceId;
      } catch (error) {
        const reason = error instanceof StoreError ? error.message : 'internal error';
        if (!(error instanceof StoreError)) this.options.log?.(`control: ${(error as Error).stack}`);
        channel.send({ type: 'error', reason });
        channel.close(reason);
      }
    });
    channel.onClose(() => {
      for (const [id, ch] of this.pendingLogins) if (ch === channel) this.pendingLogins.delete(id);
      if (deviceId === null || this.stopped) return;
      const stream = this.streams.get(deviceId);
      if (stream?.channel !== channel) return;
      this.streams.delete(deviceId);
      const { store } = this.options;
      const device = store.getDevice(deviceId);
      if (device.ephemeral) store.deleteDevice(device.id, this.options.now());
      else
        store.setDeviceStatus(device.id, { online: false, lastSeen: this.options.now() }, this.options.now());
    });
  }

  /** Returns the device the channel now speaks for, if this message established it. */
  private handle(
    message: ClientMessage,
    machineKey: string,
    deviceId: string | null,
    channel: ServerChannel,
  ): string | null {
    const { store } = this.options;
    const now = this.options.now();
    switch (message.type) {
      case 'register': {
        const who = {
          machineKey,
          nodeKey: message.nodeKey,
          discoKey: message.discoKey,
          hostname: message.hostname,
        };
        if (message.authKey !== undefined) {
          const device = store.registerDeviceWithAuthKey(message.authKey, who, now);
          this.options.builder.invalidate(device.networkId);
          channel.send(this.registered(device.id));
          return device.id;
        }
        const known = store.findDeviceByMachineKey(machineKey);
        if (known && (known.keyExpiry === null || known.keyExpiry > now)) {
          const device =
            known.nodeKey === message.nodeKey ? known : store.rotateNodeKey(known.id, message.nodeKey, now);
          channel.send(this.registered(device.id));
          return device.id;
        }
        const session = store.createLoginSession(who, now);
        this.pendingLogins.set(session.id, channel);
        channel.send({
          type: 'register-result',
          status: 'login-required',
          url: `${this.options.publicUrl()}/login/${session.id}`,
        });
        return null;
      }
      case 'map': {
        if (deviceId === null) throw new StoreError('forbidden', 'register before asking for a map');
        const device = store.setDeviceStatus(
          deviceId,
          { online: true, lastSeen: now, endpoints: message.endpoints },
          now,
        );
        const map = this.options.builder.build(device.id);
        this.streams.get(device.id)?.channel.close('replaced by a newer connection');
        this.streams.set(device.id, { deviceId: device.id, networkId: device.networkId, channel, last: map });
        channel.send({ type: 'full-map', seq: store.currentSeq(), map });
        return null;
      }
      case 'endpoints':
        if (deviceId === null) throw new StoreError('forbidden', 'register first');
        store.setDeviceStatus(deviceId, { endpoints: message.endpoints, lastSeen: now }, now);
        return null;
      case 'routes':
        if (deviceId === null) throw new StoreError('forbidden', 'register first');
        store.transaction(() => {
          const offer = { routes: message.advertiseRoutes, exitNode: message.advertiseExitNode };
          this.autoApprove(store.setAdvertisedRoutes(deviceId, offer, now).id, now);
        });
        return null;
      case 'ping':
        channel.send({ type: 'pong', id: message.id });
        return null;
    }
  }

  /** Approves what the network's policy (autoApprovers) approves of a device's advertised routes. */
  private autoApprove(deviceId: string, now: number): void {
    const { store } = this.options;
    const device = store.getDevice(deviceId);
    const stored = store.getPolicy(device.networkId);
    if (!stored) return;
    const ctx = policyContext(store, device.networkId);
    const self = ctx.devices.find((d) => d.id === device.id);
    if (!self) return;
    const advertised = [
      ...device.advertisedRoutes,
      ...(device.advertisesExitNode ? ['0.0.0.0/0', '::/0'] : []),
    ];
    const approved = autoApprovedRoutes(parsePolicy(stored.text), ctx, self, advertised);
    const exitNode = device.exitNodeApproved || (approved.includes('0.0.0.0/0') && approved.includes('::/0'));
    const routes = [
      ...new Set([...device.approvedRoutes, ...approved.filter((r) => r !== '0.0.0.0/0' && r !== '::/0')]),
    ];
    if (exitNode !== device.exitNodeApproved || routes.length !== device.approvedRoutes.length) {
      store.approveRoutes(device.id, { routes, exitNode }, now);
    }
  }

  private registered(deviceId: string): ServerMessage {
    const map = this.options.builder.build(deviceId);
    return { type: 'register-result', status: 'ok', self: map.self };
  }

  /**
   * Follows the change feed: completes interactive logins, and sends each stream in a changed
   * network the difference between its last map and its new one.
   */
  poll(): void {
    if (this.stopped) return;
    const { store } = this.options;
    for (const [id, channel] of this.pendingLogins) {
      const session = store.getLoginSession(id);
      if (session.completedDeviceId) {
        this.pendingLogins.delete(id);
        channel.send(this.registered(session.completedDeviceId));
      } else if (session.expiresAt <= this.options.now()) {
        this.pendingLogins.delete(id);
        channel.send({ type: 'register-result', status: 'refused', reason: 'the login link expired' });
      }
    }
    const current = store.currentSeq();
    if (current === this.seq) return;
    const networks = new Set([...this.streams.values()].map((s) => s.networkId));
    const changed = [...networks].filter((n) => {
      const changes = store.changesSince(n, this.seq);
      return changes === null || changes.length > 0;
    });
    this.seq = current;
    for (const n of changed) this.options.builder.invalidate(n);
    for (const stream of this.streams.values()) {
      if (changed.includes(stream.networkId)) this.refresh(stream, current);
    }
  }

  private refresh(stream: Stream, seq: number): void {
    let next: Netmap;
    try {
      next = this.options.builder.build(stream.deviceId);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') {
        stream.channel.close('device deleted');
        this.streams.delete(stream.deviceId);
        return;
      }
      throw error;
    }
    const before = new Map(stream.last.peers.map((p) => [p.id, p]));
    const after = new Map(next.peers.map((p) => [p.id, p]));
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const peersAdded: NodeInfo[] = [...after.values()].filter((p) => !before.has(p.id));
    const peersRemoved = [...before.keys()].filter((id) => !after.has(id));
    const peersChanged = [...after.values()].filter((p) => before.has(p.id) && !same(before.get(p.id), p));
    const filterChanged = !same(stream.last.filter, next.filter);
    const selfChanged = !same(stream.last.self, next.self);
    stream.last = next;
    if (!peersAdded.length && !peersRemoved.length && !peersChanged.length && !filterChanged && !selfChanged)
      return;
    stream.channel.send({
      type: 'delta',
      seq,
      ...(peersAdded.length ? { peersAdded } : {}),
      ...(peersRemoved.length ? { peersRemoved } : {}),
      ...(peersChanged.length ? { peersChanged } : {}),
      ...(filterChanged ? { filter: next.filter } : {}),
      ...(selfChanged ? { self: next.self } : {}),
    });
  }
}
