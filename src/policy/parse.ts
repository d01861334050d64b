/**
 * Turns a policy's HuJSON text into a validated Policy. Strict: an unknown section or field, a
 * selector naming an undefined group, tag or host, a malformed port or CIDR, or a group cycle is
 * an error naming where it is (`acls[3].dst[0]: port range "80-" is not valid`). A policy that
 * half-applies is worse than one that is refused, because the admin would not see what was dropped.
 */
import { parseHujson } from './hujson.js';
import { type Prefix, parsePrefix } from './prefix.js';
import { hasPorts, parseProtocol, TCP } from './protocol.js';
import {
  GROUP_NAME,
  HOST_NAME,
  type PolicyNames,
  parseDstEntry,
  parseSelector,
  parseTestTarget,
  type SelectorRole,
  TAG_NAME,
} from './selectors.js';
import type { AclRule, AutoApprovers, Owner, Policy, PolicyTest, Selector } from './types.js';

export class PolicyError extends Error {
  /** Where in the document, as in `acls[3].dst[0]` (empty for the document itself). */
  readonly path: string;

  constructor(path: string, message: string) {
    super(path === '' ? message : `${path}: ${message}`);
    this.name = 'PolicyError';
    this.path = path;
  }
}

const SECTIONS = ['acls', 'groups', 'hosts', 'tagOwners', 'autoApprovers', 'tests'];

/** Parses and validates; throws HujsonError for bad syntax, PolicyError for a bad policy. */
export function parsePolicy(text: string, source = 'policy.hujson'): Policy {
  return validatePolicy(parseHujson(text, source));
}

/** Validates an already-parsed document (as parsePolicy does after the HuJSON step). */
export function validatePolicy(doc: unknown): Policy {
  const root = object(doc, '');
  for (const key of Object.keys(root)) {
    if (!SECTIONS.includes(key)) {
      throw new PolicyError(field('', key), `unknown section (Burrow policies have ${SECTIONS.join(', ')})`);
    }
  }
  // Empty or absent, the section would deny everything: a change that drastic must be written out.
  if (root.acls === undefined) {
    throw new PolicyError('acls', 'missing (write "acls": [] to deny all traffic)');
  }

  const groups = root.groups === undefined ? {} : object(root.groups, 'groups');
  const hosts = parseHosts(root.hosts);
  const tagOwners = root.tagOwners === undefined ? {} : object(root.tagOwners, 'tagOwners');
  for (const name of Object.keys(groups)) {
    if (!GROUP_NAME.test(name)) {
      throw new PolicyError(field('groups', name), 'group names look like "group:eng"');
    }
  }
  for (const name of Object.keys(tagOwners)) {
    if (!TAG_NAME.test(name)) {
      throw new PolicyError(field('tagOwners', name), 'tag names look like "tag:server"');
    }
  }
  const names: PolicyNames = {
    hosts,
    groups: new Set(Object.keys(groups)),
    tags: new Set(Object.keys(tagOwners)),
  };

  return {
    groups: parseGroups(groups, names),
    hosts,
    tagOwners: new Map(
      Object.entries(tagOwners).map(([tag, owners]) => {
        const path = field('tagOwners', tag);
        return [
          tag,
          strings(owners, path).map((o, i) => selector(o, 'tagOwner', names, `${path}[${i}]`) as Owner),
        ];
      }),
    ),
    acls: array(root.acls, 'acls').map((rule, i) => parseRule(rule, `acls[${i}]`, names)),
    autoApprovers: parseAutoApprovers(root.autoApprovers, names),
    tests:
      root.tests === undefined
        ? []
        : array(root.tests, 'tests').map((t, i) => parseTest(t, `tests[${i}]`, names)),
  };
}

function parseHosts(value: unknown): Map<string, Prefix> {
  const hosts = new Map<string, Prefix>();
  if (value === undefined) return hosts;
  for (const [name, target] of Object.entries(object(value, 'hosts'))) {
    const path = field('hosts', name);
    // A name of digits and dots would read as an IPv4 address wherever it is used.
    if (!HOST_NAME.test(name) || /^[0-9.]+$/.test(name)) {
      throw new PolicyError(path, 'host names are letters, digits, ".", "-" and "_", and not all digits');
    }
    hosts.set(
      name,
      guard(path, () => parsePrefix(string(target, path))),
    );
  }
  return hosts;
}

/** Each group's members with nested groups expanded; a group that includes itself is an error. */
function parseGroups(groups: Record<string, unknown>, names: PolicyNames): Map<string, readonly string[]> {
  const direct = new Map<string, Selector[]>();
  for (const [name, members] of Object.entries(groups)) {
    const path = field('groups', name);
    direct.set(
      name,
      strings(members, path).map((m, i) => selector(m, 'groupMember', names, `${path}[${i}]`)),
    );
  }
  const flat = new Map<string, readonly string[]>();
  const visiting: string[] = [];
  const visit = (name: string): readonly string[] => {
    const done = flat.get(name);
    if (done !== undefined) return done;
    if (visiting.includes(name)) {
      const cycle = [...visiting.slice(visiting.indexOf(name)), name].join(' -> ');
      throw new PolicyError(field('groups', name), `groups include each other in a cycle: ${cycle}`);
    }
    visiting.push(name);
    const logins = new Set<string>();
    for (const member of direct.get(name)!) {
      if (member.kind === 'user') logins.add(member.login);
      else if (member.kind === 'group') for (const login of visit(member.name)) logins.add(login);
    }
    visiting.pop();
    const sorted = [...logins].sort();
    flat.set(name, sorted);
    return sorted;
  };
  for (const name of direct.keys()) visit(name);
  return flat;
}

const RULE_FIELDS = ['action', 'src', 'dst', 'proto'];
// Tailscale's legacy field names, which a policy copied from there may still use.
const RULE_HINTS: Record<string, string> = { users: ' (use "src")', ports: ' (use "dst")' };

function parseRule(value: unknown, path: string, names: PolicyNames): AclRule {
  const rule = object(value, path);
  knownFields(rule, path, RULE_FIELDS, RULE_HINTS);
  if (rule.action !== 'accept') {
    throw new PolicyError(
      `${path}.action`,
      'must be "accept" (rules only grant access; anything else is denied)',
    );
  }
  const src = strings(rule.src, `${path}.src`, true).map((s, i) =>
    selector(s, 'src', names, `${path}.src[${i}]`),
  );
  const protocols = rule.proto === undefined ? [] : parseProto(rule.proto, `${path}.proto`);
  const dst = strings(rule.dst, `${path}.dst`, true).map((d, i) => {
    const entryPath = `${path}.dst[${i}]`;
    const entry = guard(entryPath, () => parseDstEntry(d, names));
    const portless = protocols.length > 0 && !protocols.some(hasPorts);
    const allPorts = entry.ports.some((r) => r.first === 0 && r.last === 65535);
    if (portless && !allPorts) {
      throw new PolicyError(
        entryPath,
        `proto ${JSON.stringify(rule.proto)} has no ports, so the ports must be "*"`,
      );
    }
    return entry;
  });
  return { src, dst, protocols };
}

function parseAutoApprovers(value: unknown, names: PolicyNames): AutoApprovers {
  if (value === undefined) return { routes: [], exitNode: [] };
  const section = object(value, 'autoApprovers');
  knownFields(section, 'autoApprovers', ['routes', 'exitNode'], {});
  const routes = section.routes === undefined ? {} : object(section.routes, 'autoApprovers.routes');
  const owners = (list: unknown, path: string) =>
    strings(list, path).map((o, i) => selector(o, 'approver', names, `${path}[${i}]`) as Owner);
  return {
    routes: Object.entries(routes).map(([cidr, list]) => {
      const path = field('autoApprovers.routes', cidr);
      return { prefix: guard(path, () => parsePrefix(cidr)), owners: owners(list, path) };
    }),
    exitNode: section.exitNode === undefined ? [] : owners(section.exitNode, 'autoApprovers.exitNode'),
  };
}

function parseTest(value: unknown, path: string, names: PolicyNames): PolicyTest {
  const test = object(value, path);
  knownFields(test, path, ['src', 'accept', 'deny', 'proto'], {});
  const src = selector(string(test.src, `${path}.src`), 'testSrc', names, `${path}.src`);
  const targets = (key: 'accept' | 'deny') =>
    test[key] === undefined
      ? []
      : strings(test[key], `${path}.${key}`).map((text, i) => ({
          text,
          ...guard(`${path}.${key}[${i}]`, () => parseTestTarget(text, names)),
        }));
  const accept = targets('accept');
  const deny = targets('deny');
  if (accept.length === 0 && deny.length === 0) {
    throw new PolicyError(path, 'a test needs "accept" or "deny" targets');
  }
  return {
    src,
    accept,
    deny,
    protocols: test.proto === undefined ? [TCP] : parseProto(test.proto, `${path}.proto`),
  };
}

function parseProto(value: unknown, path: string): readonly number[] {
  return guard(path, () => parseProtocol(string(value, path)));
}

function selector(text: string, role: SelectorRole, names: PolicyNames, path: string): Selector {
  return guard(path, () => parseSelector(text, role, names));
}

/** Runs `parse`, giving any plain error it throws the path it concerns. */
function guard<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof PolicyError || !(e instanceof Error)) throw e;
    throw new PolicyError(path, e.message);
  }
}

/** `parent.key`, or `parent["group:eng"]` for keys that are not identifiers. */
function field(parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

function knownFields(
  value: Record<string, unknown>,
  path: string,
  known: string[],
  hints: Record<string, string>,
) {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const hint = Object.hasOwn(hints, key) ? hints[key] : '';
      throw new PolicyError(field(path, key), `unknown field${hint} (expected ${known.join(', ')})`);
    }
  }
}

function wrongType(path: string, expected: string, value: unknown): PolicyError {
  if (value === undefined) return new PolicyError(path, `missing (expected ${expected})`);
  const got =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'object'
          ? 'an object'
          : `${typeof value} ${JSON.stringify(value)}`;
  return new PolicyError(path, `expected ${expected}, got ${got}`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw wrongType(path, 'an object', value);
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw wrongType(path, 'an array', value);
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') throw wrongType(path, 'a string', value);
  return value;
}

function strings(value: unknown, path: string, nonEmpty = false): string[] {
  const list = array(value, path).map((item, i) => string(item, `${path}[${i}]`));
  if (nonEmpty && list.length === 0) throw new PolicyError(path, 'must not be empty');
  return list;
}
