/**
 * burrow-server's STUN responder, for the tests of burrowd's STUN client: the client is tested
 * against the real server it will ask, not against a stand-in.
 */
export { type StunServer, startStunServer } from '../../server/stun/stun-server.js';
