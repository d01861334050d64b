/** The access-policy engine: parse a network's policy, compile per-device packet filters, run its tests. */
export { compileFor, PolicyCompiler } from './compile.js';
export { allows, type Destination } from './evaluate.js';
export { type DstPorts, type FilterRule, matchesFilter, PacketFilter } from './filter.js';
export { HujsonError, parseHujson } from './hujson.js';
export type { PolicyContext, PolicyDevice } from './model.js';
export { autoApprovedRoutes, mayApplyTag } from './owners.js';
export { PolicyError, parsePolicy, validatePolicy } from './parse.js';
export { type PolicyTestResult, runPolicyTests } from './tests.js';
export type { AclRule, DstEntry, Policy, PolicyTest, PortRange, Selector } from './types.js';
