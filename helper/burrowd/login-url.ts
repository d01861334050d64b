/**
 * Who sees the login URL. The URL is the whole capability to sign this device in: whoever opens it
 * first and signs in decides whose network the device joins. So it goes only to callers who may
 * change burrowd (root and the operator), who could bring the device up with any account anyway;
 * every other local user sees the state, needs-login, and no URL.
 */
import type { Event, Status } from '../../src/localapi/api.js';
import type { Caller } from '../localapi/server.js';

export function statusFor(caller: Caller, status: Status): Status {
  return caller.mayChange ? status : { ...status, authUrl: null };
}

export function eventFor(caller: Caller, event: Event): Event {
  if (caller.mayChange) return event;
  switch (event.type) {
    case 'state':
      return { ...event, authUrl: null };
    case 'netmap':
      return { ...event, status: statusFor(caller, event.status) };
    case 'invites':
      return event;
  }
}
