/**
 * The UI's state: what burrowd last said (status, prefs, shares), whether it can be reached, and
 * what went wrong. It is filled by one initial fetch and then kept current by burrowd's events, so
 * the screens only read it; every action goes through `run`, which marks it pending (to disable
 * its button) and turns a failure into a notice with burrowd's own words.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BurrowApi, HelperState, IpcName, IpcRequest, IpcResponse } from '../src/ipc/schema.js';
import type { BackendState, Event, Prefs, PrefsPatch, ShareList, Status } from '../src/localapi/api.js';
import type { TraceReport } from '../src/trace/report.js';
import { type BurrowError, toBurrowError } from './burrow-error.js';
import { PING, type TraceChoice, traceRequestOf } from './trace-target.js';

export interface Notice {
  id: number;
  message: string;
  status: number;
}

export type InstallPhase = 'idle' | 'installing' | 'installed' | 'declined' | 'failed';

export interface CreatedInvite {
  device: string;
  recipient: string | null;
  code: string;
}

export interface BurrowState {
  /** False until the first fetch has answered (or failed). */
  loaded: boolean;
  status: Status | null;
  backendState: BackendState | null;
  authUrl: string | null;
  prefs: Prefs | null;
  shares: ShareList | null;
  /** Why the share list could not be had (often: not signed in, or the server is away). */
  sharesError: string | null;
  helper: HelperState | null;
  /** The failure that says burrowd is away (no answer, or 503), until it answers again. */
  unreachable: BurrowError | null;
  notices: Notice[];
  /** Actions in flight, by key (an operation name, or `name:id` for one item). */
  pending: Record<string, true>;
  /** The invite just created, whose code the user still has to pass on. */
  createdInvite: CreatedInvite | null;
  /**
   * The server URL typed in the sign-in form (null: untyped, the form shows the saved one). Kept
   * here, not in the form: the form is hidden while burrowd starts and shown again when it needs a
   * login, which may come (as an event) before `up` answers.
   */
  typedServerUrl: string | null;
  install: { phase: InstallPhase; detail: string };
  /** The journey view, while it is open. */
  journey: Journey | null;
  /** The protocol and port last traced per target (lower case), offered again next time. */
  traceChoices: Record<string, TraceChoice>;

  /** Subscribes to events and fetches everything; returns the unsubscribe function. */
  start(): () => void;
  refresh(): Promise<void>;
  connect(request?: IpcRequest<'up'>): Promise<void>;
  disconnect(): Promise<void>;
  setPrefs(patch: PrefsPatch): Promise<void>;
  createShare(request: IpcRequest<'createShare'>): Promise<void>;
  /** Accepts an invite by id or code; true if it worked (the code form then clears). */
  acceptShare(ref: string): Promise<boolean>;
  declineShare(id: string): Promise<void>;
  revokeShare(id: string): Promise<void>;
  /** Copies text to the clipboard; true if it worked (the button says so). */
  copy(text: string): Promise<boolean>;
  openLogin(url: string): Promise<void>;
  installHelper(): Promise<void>;
  /** Records a failure that happened outside an action (a malformed event, a lost stream). */
  report(error: BurrowError): void;
  dismiss(id: number): void;
  clearCreatedInvite(): void;
  typeServerUrl(url: string): void;
  /**
   * Opens the journey view: on `target`, traced at once with `choice` (by default the one last used
   * for it, else a ping, as `burrow trace NAME` does), or empty (null) for the user to type one.
   */
  openJourney(target: string | null, choice?: TraceChoice): void;
  /** Traces `target` (the view's form, or Run again); the choice is remembered for it. */
  runTrace(target: string, choice: TraceChoice): Promise<void>;
  closeJourney(): void;
}

/** The journey view (`burrow trace` in the window): what it traces, and the last answer. */
export interface Journey {
  /** Bumped each time the view is opened anew: its form starts over from target and choice. */
  opened: number;
  /** As typed or picked: a device's short name, a DNS name or an address; '' until one is typed. */
  target: string;
  choice: TraceChoice;
  /** The trace in flight is the latest; an answer to an earlier one is dropped. */
  running: boolean;
  report: TraceReport | null;
  /** Why burrowd gave no report (refused, rate-limited, away), in its words. */
  error: string | null;
}

export type BurrowStore = StoreApi<BurrowState>;

/** Only the latest few notices are kept: a burst of the same failure must not bury the screen. */
const MAX_NOTICES = 3;

/** No answer at all, or the broker saying burrowd is not there. */
export const isUnreachable = (error: BurrowError) => error.status === 0 || error.status === 503;

/** Whether the UI should explain that burrowd is away (and offer to install it) instead of its screens. */
export const burrowdAway = (s: BurrowState) =>
  s.unreachable !== null || (s.helper !== null && s.helper.state !== 'running');

export function createBurrowStore(api: BurrowApi): BurrowStore {
  let nextNotice = 1;
  let opened = 0;
  let traceRun = 0;

  return createStore<BurrowState>()((set, get) => {
    const report = (error: BurrowError) =>
      set((s) => {
        const others = s.notices.filter((n) => n.message !== error.message);
        const notice = { id: nextNotice++, message: error.message, status: error.status };
        return { notices: [...others, notice].slice(-MAX_NOTICES) };
      });

    /**
     * Runs one call as a pending action; a failure becomes a notice and the result undefined. A 503
     * here may be burrowd away or only the control server (share calls): refetching tells which.
     */
    async function run<N extends IpcName>(
      key: string,
      name: N,
      request: IpcRequest<N>,
    ): Promise<IpcResponse<N> | undefined> {
      set((s) => ({ pending: { ...s.pending, [key]: true } }));
      try {
        return await api.call(name, request);
      } catch (raw) {
        const error = toBurrowError(raw);
        report(error);
        if (isUnreachable(error)) void refresh();
        return undefined;
      } finally {
        set((s) => {
          const { [key]: _, ...rest } = s.pending;
          return { pending: rest };
        });
      }
    }

    /** Status carries the prefs it reflects; keeping them in step shows a change made elsewhere (the CLI). */
    const withStatus = (s: BurrowState, status: Status): Partial<BurrowState> => ({
      status,
      backendState: status.backendState,
      authUrl: status.authUrl,
      unreachable: null,
      prefs: s.prefs && { ...s.prefs, shieldsUp: status.shieldsUp, exitNode: status.exitNode },
    });

    const withState = (s: BurrowState, backendState: BackendState, authUrl: string | null) => ({
      backendState,
      authUrl,
      status: s.status && { ...s.status, backendState, authUrl },
    });

    function apply(event: Event) {
      switch (event.type) {
        case 'netmap':
          set((s) => withStatus(s, event.status));
          return;
        case 'state':
          set((s) => ({ ...withState(s, event.backendState, event.authUrl), unreachable: null }));
          return;
        case 'invites':
          set({ shares: event.shares, sharesError: null, unreachable: null });
          return;
      }
    }

    async function refresh() {
      const [helper, status, prefs, shares] = await Promise.allSettled([
        api.call('helperState', {}),
        api.call('status', {}),
        api.call('getPrefs', {}),
        api.call('listShares', {}),
      ]);
      const next: Partial<BurrowState> = { loaded: true };
      // Should helperState not answer, the other calls alone tell whether burrowd is there.
      if (helper.status === 'fulfilled') next.helper = helper.value;
      if (prefs.status === 'fulfilled') next.prefs = prefs.value;
      if (status.status === 'fulfilled') Object.assign(next, withStatus({ ...get(), ...next }, status.value));
      if (shares.status === 'fulfilled') Object.assign(next, { shares: shares.value, sharesError: null });
      else next.sharesError = toBurrowError(shares.reason).message;

      const basics = [status, prefs].flatMap((r) =>
        r.status === 'rejected' ? [toBurrowError(r.reason)] : [],
      );
      const away = basics.find(isUnreachable);
      if (away) next.unreachable = away;
      else if (basics.length === 0) next.unreachable = null;
      set(next);
      // Being away is explained by its own panel; other failures of the basics are news.
      for (const error of basics) if (!isUnreachable(error)) report(error);
    }

    return {
      loaded: false,
      status: null,
      backendState: null,
      authUrl: null,
      prefs: null,
      shares: null,
      sharesError: null,
      helper: null,
      unreachable: null,
      notices: [],
      pending: {},
      createdInvite: null,
      typedServerUrl: null,
      install: { phase: 'idle', detail: '' },
      journey: null,
      traceChoices: {},

      start() {
        // Subscribe first: an event between the fetch and the subscription would otherwise be lost.
        const stop = api.onEvent(apply);
        void refresh();
        return stop;
      },
      refresh,

      async connect(request = {}) {
        const answer = await run('up', 'up', request);
        if (!answer) return;
        // burrowd saved the server URL (and a hostname) given with up: the sign-in form shows the
        // saved URL, also after it re-mounts (it is hidden while burrowd is starting). It is in the
        // prefs from the same update that shows the sign-in button, so the form is never blank
        // meanwhile; the saved prefs are read back after.
        const controlUrl = request.controlUrl;
        set((s) => ({
          ...withState(s, answer.backendState, answer.authUrl),
          ...(controlUrl !== undefined && s.prefs ? { prefs: { ...s.prefs, controlUrl } } : {}),
        }));
        if (controlUrl !== undefined) {
          const prefs = await api.call('getPrefs', {}).catch(() => undefined);
          if (prefs) set({ prefs });
        }
      },
      async disconnect() {
        const answer = await run('down', 'down', {});
        if (answer) set((s) => withState(s, answer.backendState, null));
      },
      async setPrefs(patch) {
        const prefs = await run('setPrefs', 'setPrefs', patch);
        if (prefs) {
          set((s) => ({
            prefs,
            status: s.status && { ...s.status, shieldsUp: prefs.shieldsUp, exitNode: prefs.exitNode },
          }));
        }
      },
      async createShare(request) {
        const answer = await run('createShare', 'createShare', request);
        if (answer) {
          const { device, recipient } = answer.invite;
          set({ createdInvite: { device, recipient, code: answer.code } });
        }
      },
      // The share list itself comes back as an `invites` event once the server has it.
      async acceptShare(ref) {
        return (await run(`accept:${ref}`, 'acceptShare', { ref })) !== undefined;
      },
      async declineShare(id) {
        await run(`decline:${id}`, 'declineShare', { id });
      },
      async revokeShare(id) {
        await run(`revoke:${id}`, 'revokeShare', { id });
      },
      async copy(text) {
        return (await run(`copy:${text}`, 'copyText', { text })) !== undefined;
      },
      async openLogin(url) {
        await run('openLogin', 'openLogin', { url });
      },
      async installHelper() {
        // Not through `run`: the helper panel shows the outcome, so it is not a notice as well.
        set({ install: { phase: 'installing', detail: '' } });
        try {
          const answer = await api.call('installHelper', {});
          set({ install: { phase: answer.installed ? 'installed' : 'declined', detail: answer.detail } });
          if (answer.installed) await refresh();
        } catch (error) {
          set({ install: { phase: 'failed', detail: toBurrowError(error).message } });
        }
      },
      report,
      dismiss(id) {
        set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
      },
      typeServerUrl(url) {
        set({ typedServerUrl: url });
      },
      clearCreatedInvite() {
        set({ createdInvite: null });
      },
      openJourney(target, choice) {
        const name = target?.trim() ?? '';
        const picked = choice ?? get().traceChoices[name.toLowerCase()] ?? PING;
        opened += 1;
        traceRun += 1; // an answer still coming for the view as it was is not this one's
        set({
          journey: { opened, target: name, choice: picked, running: false, report: null, error: null },
        });
        if (name !== '') void get().runTrace(name, picked);
      },
      async runTrace(target, choice) {
        const run = ++traceRun;
        const current = () => run === traceRun && get().journey !== null;
        set((s) => ({
          traceChoices: { ...s.traceChoices, [target.toLowerCase()]: choice },
          journey: s.journey && { ...s.journey, target, choice, running: true, report: null, error: null },
        }));
        try {
          const report = await api.call('trace', traceRequestOf(target, choice));
          if (current()) set((s) => ({ journey: s.journey && { ...s.journey, running: false, report } }));
        } catch (raw) {
          const error = toBurrowError(raw);
          if (current())
            set((s) => ({ journey: s.journey && { ...s.journey, running: false, error: error.message } }));
          // The view says what went wrong; burrowd being away is the helper panel's to explain.
          if (isUnreachable(error)) void refresh();
        }
      },
      closeJourney() {
        traceRun += 1;
        set({ journey: null });
      },
    };
  });
}
