import type { ClientMessage, RelayRegion, ServerMessage, ShareRequest } from '../../src/control/messages.js';
import type { ControlConnection, ServerChannel } from '../control/listener.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { autoApprove } from './auto-approve.js';
import { ChannelBudget } from './channel-budget.js';
import { HeldReports } from './held-reports.js';
import { MapEngine, type StreamSink } from './map-engine.js';
import { type LoginLimits, PendingLogins } from './pending-logins.js';
import { handleShareRequest, type ShareOutcome } from './share-requests.js';
import { type StrangerLimits, Strangers } from './strangers.js';
import { UserChannels } from './user-channels.js';

export interface CoordinatorOptions {
  store: Store;
  /** Where users sign in: login URLs are `${publicUrl()}/login/<session>`. */
  publicUrl: () => string;
  /** Unix wall-clock ms. */
  now: () => number;
  /** The relay map every device is sent. */
  relays?: () => readonly RelayRegion[];
  /** Device names are HOST.NETWORK.<baseDomain> (default burrow.internal). */
  baseDomain?: string;
  log?: (message: string) => void;
  loginLimits?: Partial<LoginLimits>;
  strangerLimits?: Partial<StrangerLimits>;
}

/** The database could not be reached: nothing was done, and the device is told so. */
const unavailable = (error: unknown): error is StoreError =>
  error instanceof StoreError && error.code === 'unavailable';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A device that lets this much go unread is dropped; it gets a full map when it comes back. */
const MAX_UNSENT_BYTES = 64 << 20;

/**
 * The control plane's live half: registers devices over their control channels, streams each one
 * its map (a full map, then deltas), and follows the store's change feed, so changes made by any
 * process (the admin CLI included) reach the devices they concern.
 */
export class Coordinator {
  /** Channels waiting for someone to sign in at their login URL. */
  private readonly logins: PendingLogins;
  /** Channels that do not speak for a device yet. */
  private readonly strangers: Strangers;
  /** Registered channels by the user owning their device: who to tell that the user's shares changed. */
  private readonly userChannels = new UserChannels();
  /** Channels holding status reports the database was unreachable for: each resends its own. */
  private readonly unsaved = new Set<() => void>();
  private stopped = false;
  private pollQueued = false;
  /** The poll running now (polls run one at a time), and the one waiting to start after it. */
  private polling: Promise<void> = Promise.resolve();
  private nextPoll: Promise<void> | null = null;

  private constructor(
    private readonly options: CoordinatorOptions,
    private readonly engine: MapEngine,
    /** The change feed's position the engine's maps are at. */
    private seq: number,
  ) {
    this.logins = new PendingLogins(options.store, options.now, options.loginLimits);
    this.strangers = new Strangers(options.strangerLimits);
  }

  /** Loads the store's state into the map engine and starts following the change feed from there. */
  static async open(options: CoordinatorOptions): Promise<Coordinator> {
    // The position first: a change made while loading is then read again, which is harmless.
    const seq = await options.store.currentSeq();
    const engine = await MapEngine.open(options.store, options.now, options.relays, options.baseDomain);
    return new Coordinator(options, engine, seq);
  }

  /**
   * Stops touching the store: connections closing during shutdown leave devices as they were.
   * Settles once a poll still running has ended, so the store can be closed after it.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.logins.stop();
    return this.polling;
  }

  /** The change feed's position the maps are at. */
  get seqNow(): number {
    return this.seq;
  }

  get streamCount(): number {
    return this.engine.streamCount;
  }

  /** Logins waiting for a sign-in. */
  get pendingLoginCount(): number {
    return this.logins.size;
  }

  /** Channels that have not registered (yet). */
  get strangerCount(): number {
    return this.strangers.size;
  }

  /** The map the device would be sent now (for the admin API and tests). */
  netmap(deviceId: string) {
    return this.engine.netmap(deviceId);
  }

  accept(connection: ControlConnection): void {
    const machineKey = b64(connection.machineKey);
    const { channel, address } = connection;
    if (!this.strangers.admit(channel, address)) {
      const reason = 'too many unregistered connections from your address: try again later';
      channel.send({ type: 'error', reason });
      channel.close(reason);
      return;
    }
    let deviceId: string | null = null;
    let userId: string | null = null;
    /** From now on the channel speaks for this device (registered, or signed in at its login URL). */
    const speakFor = (id: string) => {
      this.strangers.forget(channel);
      this.logins.end(channel);
      if (userId !== null) this.userChannels.forget(userId, channel);
      deviceId = id;
      // The engine holds the device: the caller brought it up to the write that made it.
      userId = this.engine.owner(id);
      this.userChannels.add(userId, channel);
    };
    const sink: StreamSink = {
      sendJson: (json) => {
        if (channel.unsentBytes > MAX_UNSENT_BYTES) channel.close('too slow reading its map');
        else channel.sendJson(json);
      },
      close: (reason) => channel.close(reason),
    };
    const budget = new ChannelBudget(performance.now());
    // A channel's messages, and then its closing, are handled one after another, each after the
    // one before it finished (they await the store): a map request is handled as the channel that
    // registered, and closing undoes what the channel's last message did, never the reverse.
    let queue: Promise<void> = Promise.resolve();
    const inTurn = (work: () => Promise<void>) => {
      queue = queue.then(work).catch((error) =>
        // With the database away only a message: the stack says nothing more, once per device.
        this.options.log?.(`control: ${unavailable(error) ? error.message : (error as Error).stack}`),
      );
    };
    // What a registered device reported while the database was unreachable: saved once it is back.
    const held = new HeldReports();
    const resend = () => {
      this.unsaved.delete(resend);
      for (const message of held.take()) handleInTurn(message);
    };
    const handleInTurn = (message: ClientMessage) =>
      inTurn(async () => {
        try {
          const registered = await this.handle(
            message,
            machineKey,
            deviceId,
            address,
            channel,
            sink,
            speakFor,
          );
          held.saved(message.type);
          if (registered !== null) speakFor(registered);
        } catch (error) {
          if (unavailable(error) && deviceId !== null && held.hold(message)) {
            // Read-only serving: the device keeps its stream; a map request is answered from the
            // maps this instance has (no await between reading the position and attaching).
            if (message.type === 'map') this.engine.attach(deviceId, sink, this.seq);
            this.unsaved.add(resend);
            return;
          }
          const reason = error instanceof StoreError ? error.message : 'internal error';
          if (!(error instanceof StoreError)) this.options.log?.(`control: ${(error as Error).stack}`);
          channel.send({ type: 'error', reason });
          channel.close(reason);
        }
      });
    channel.onMessage((message) => {
      const over = budget.take(message.type, performance.now());
      if (over !== null) {
        channel.send({ type: 'error', reason: over });
        channel.close(over);
        return;
      }
      handleInTurn(message);
    });
    channel.onClose(() => {
      this.unsaved.delete(resend);
      this.strangers.forget(channel);
      inTurn(async () => {
        if (!this.stopped) this.logins.end(channel);
        if (userId !== null) this.userChannels.forget(userId, channel);
        if (deviceId === null || this.stopped || !this.engine.detach(deviceId, sink)) return;
        const { store } = this.options;
        const device = await store.findDeviceByMachineKey(machineKey);
        if (device?.id !== deviceId || this.stopped) return; // deleted meanwhile
        const now = this.options.now();
        if (device.ephemeral) await store.deleteDevice(device.id, now);
        else await store.setDeviceStatus(device.id, { online: false, lastSeen: now }, now);
        this.pollSoon();
      });
    });
  }

  /** Returns the device the channel now speaks for, if this message established it. */
  private async handle(
    message: ClientMessage,
    machineKey: string,
    deviceId: string | null,
    address: string,
    channel: ServerChannel,
    sink: StreamSink,
    registered: (deviceId: string) => void,
  ): Promise<string | null> {
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
          const device = await store.registerDeviceWithAuthKey(message.authKey, who, now);
          await this.poll();
          channel.send(this.registered(device.id));
          return device.id;
        }
        const known = await store.findDeviceByMachineKey(machineKey).catch((error: unknown) => {
          // Read-only serving: a device coming back with the keys this instance knows needs no
          // write, so it gets its stream again from the maps here (a new node key must wait).
          const remembered = this.engine.deviceByMachineKey(machineKey);
          if (unavailable(error) && remembered?.nodeKey === message.nodeKey) return remembered;
          throw error;
        });
        if (known && (known.keyExpiry === null || known.keyExpiry > now)) {
          const device =
            known.nodeKey === message.nodeKey
              ? known
              : await store.rotateNodeKey(known.id, message.nodeKey, now);
          await this.poll().catch((error: unknown) => {
            if (!unavailable(error)) throw error;
          });
          channel.send(this.registered(device.id));
          return device.id;
        }
        const login = await this.logins.start(channel, address, who, {
          // From now on the channel speaks for the device the sign-in made.
          completed: (id) => {
            registered(id);
            channel.send(this.registered(id));
          },
          expired: () => {
            this.strangers.idle(channel);
            channel.send({ type: 'register-result', status: 'refused', reason: 'the login link expired' });
          },
        });
        if ('refused' in login) {
          channel.send({ type: 'register-result', status: 'refused', reason: login.refused });
          return null;
        }
        this.strangers.waiting(channel);
        channel.send({
          type: 'register-result',
          status: 'login-required',
          url: `${this.options.publicUrl()}/login/${login.sessionId}`,
        });
        return null;
      }
      case 'map': {
        if (deviceId === null) throw new StoreError('forbidden', 'register before asking for a map');
        const { endpoints, homeRelay = null } = message;
        await store.setDeviceStatus(deviceId, { online: true, lastSeen: now, endpoints, homeRelay }, now);
        // Bring every map (and the engine's memory) up to this write, then start this stream there:
        // no await between reading the engine's position and attaching, so no batch falls between.
        await this.poll();
        this.engine.attach(deviceId, sink, this.seq);
        return null;
      }
      case 'endpoints':
        if (deviceId === null) throw new StoreError('forbidden', 'register first');
        await store.setDeviceStatus(
          deviceId,
          { endpoints: message.endpoints, homeRelay: message.homeRelay ?? null, lastSeen: now },
          now,
        );
        this.pollSoon();
        return null;
      case 'routes':
        if (deviceId === null) throw new StoreError('forbidden', 'register first');
        await store.transaction(async () => {
          const offer = { routes: message.advertiseRoutes, exitNode: message.advertiseExitNode };
          await autoApprove(store, (await store.setAdvertisedRoutes(deviceId, offer, now)).id, now);
        });
        this.pollSoon();
        return null;
      case 'ping':
        channel.send({ type: 'pong', id: message.id });
        return null;
      case 'share-create':
      case 'share-list':
      case 'share-accept':
      case 'share-decline':
      case 'share-revoke':
        await this.share(message, deviceId, channel, now);
        return null;
    }
  }

  /**
   * Answers a share request with a reply, a refusal included: "not your device" or "that invite
   * expired" is an answer for the person asking, not a broken protocol, so the channel stays open.
   * Then tells every connected device of each user concerned that their shares changed.
   */
  private async share(
    request: ShareRequest,
    deviceId: string | null,
    channel: ServerChannel,
    now: number,
  ): Promise<void> {
    let outcome: ShareOutcome;
    try {
      if (deviceId === null) throw new StoreError('forbidden', 'register first');
      outcome = await handleShareRequest(this.options.store, deviceId, request, now);
    } catch (error) {
      if (!(error instanceof StoreError)) this.options.log?.(`control: ${(error as Error).stack}`);
      const reason = error instanceof StoreError ? error.message.slice(0, 512) : 'internal error';
      channel.send({ type: 'reply', id: request.id, outcome: 'error', error: reason });
      return;
    }
    channel.send({ type: 'reply', id: request.id, outcome: 'ok', result: outcome.result });
    if (outcome.changedFor.length === 0) return;
    this.userChannels.sharesChanged(outcome.changedFor);
    this.pollSoon(); // accepted and ended shares change maps
  }

  private registered(deviceId: string): ServerMessage {
    return { type: 'register-result', status: 'ok', self: this.engine.self(deviceId) };
  }

  /** Sends this process's own writes on once the current burst of messages is handled. */
  private pollSoon(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    setImmediate(() => {
      this.pollQueued = false;
      this.poll().catch((error) =>
        this.options.log?.(`control: following the change feed: ${(error as Error).stack}`),
      );
    });
  }

  /**
   * Follows the change feed (this process's writes and any other's, such as the admin CLI's):
   * completes interactive logins, brings every stream's map up to date, and takes expired node keys
   * out of the maps. Settles once a poll that started after this call has finished, so the caller's
   * own writes before it are in every map. Polls run one at a time (two would apply one batch
   * twice); calls while one runs share the next.
   */
  poll(): Promise<void> {
    if (this.nextPoll !== null) return this.nextPoll;
    const next = this.polling.then(() => {
      this.nextPoll = null;
      return this.pollOnce();
    });
    this.nextPoll = next;
    this.polling = next.catch(() => {});
    return next;
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped) return;
    const { store } = this.options;
    // Taken before the change feed is read, so the devices these sign-ins made are in the maps.
    const signedIn = await this.logins.poll();
    const current = await store.currentSeq();
    if (current !== this.seq) {
      const changes = await store.changesAfter(this.seq);
      const update = await this.engine.read(changes);
      if (this.stopped) return;
      // The engine's state and its position move together, with no await between.
      this.seq = Math.max(current, changes?.at(-1)?.seq ?? current);
      this.engine.apply(update, this.seq);
    }
    this.engine.expire(this.seq);
    for (const { completed, deviceId } of signedIn) completed(deviceId);
    for (const resend of this.unsaved) resend(); // the database is back
  }
}
