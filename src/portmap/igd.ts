/**
 * UPnP IGD: the device description (which control URL to call) and the SOAP calls a port mapping
 * needs: GetExternalIPAddress, AddPortMapping, AddAnyPortMapping (IGD v2) and DeletePortMapping.
 *
 * No XML library: we need two elements of the description and one or two of each answer, and a
 * general parser would take entities, namespaces and depth from the gateway that we would then have
 * to bound anyway. Instead the documents are bounded in size and searched for exactly those
 * elements, whose text must be plain (no markup, no entities but the five predefined ones).
 */

import { accept, type Parsed, refuse } from './refusals.js';
import { gatewayUrl } from './ssdp.js';

/** A description or answer larger than this is refused unread (miniupnpd's are about 4 KiB). */
export const MAX_XML = 64 * 1024;
const MAX_SERVICES = 64;

/** The services that map ports, best first (v2 has AddAnyPortMapping). */
export const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

export interface IgdService {
  serviceType: (typeof WAN_SERVICES)[number];
  controlUrl: URL;
}

/** The best WAN connection service in a device description fetched from `location`. */
export function parseDescription(xml: string, location: URL, gateway: string): Parsed<IgdService> {
  if (xml.length > MAX_XML) return refuse('bad-xml');
  const base = elementText(xml, 'URLBase');
  const baseUrl = base === null ? location : gatewayUrl(base, gateway);
  if (baseUrl === null) return refuse('bad-location');
  const found: IgdService[] = [];
  const services = xml.match(/<service>[\s\S]*?<\/service>/g) ?? [];
  for (const service of services.slice(0, MAX_SERVICES)) {
    const type = elementText(service, 'serviceType');
    const known = WAN_SERVICES.find((s) => s === type);
    const control = elementText(service, 'controlURL');
    if (known === undefined || control === null) continue;
    const controlUrl = gatewayUrl(control, gateway, baseUrl);
    if (controlUrl === null) return refuse('bad-location');
    found.push({ serviceType: known, controlUrl });
  }
  found.sort((a, b) => WAN_SERVICES.indexOf(a.serviceType) - WAN_SERVICES.indexOf(b.serviceType));
  const best = found[0];
  return best === undefined ? refuse('no-igd-service') : accept(best);
}

export type IgdAction = 'GetExternalIPAddress' | 'AddPortMapping' | 'AddAnyPortMapping' | 'DeletePortMapping';

export interface SoapRequest {
  headers: Record<string, string>;
  body: string;
}

/** A SOAP call of `action` on `serviceType` with its arguments in order. */
export function buildSoapRequest(
  serviceType: string,
  action: IgdAction,
  args: ReadonlyArray<readonly [string, string | number]>,
): SoapRequest {
  const params = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${serviceType}">${params}</u:${action}></s:Body></s:Envelope>`;
  return {
    headers: {
      'Content-Type': 'text/xml; charset="utf-8"',
      SOAPAction: `"${serviceType}#${action}"`,
    },
    body,
  };
}

/** The arguments of a port mapping for our UDP port; `lease` in seconds. */
export function addPortMappingArgs(options: {
  externalPort: number;
  internalPort: number;
  internalClient: string;
  lease: number;
  description: string;
}): Array<[string, string | number]> {
  return [
    ['NewRemoteHost', ''],
    ['NewExternalPort', options.externalPort],
    ['NewProtocol', 'UDP'],
    ['NewInternalPort', options.internalPort],
    ['NewInternalClient', options.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', options.description],
    ['NewLeaseDuration', options.lease],
  ];
}

export function deletePortMappingArgs(externalPort: number): Array<[string, string | number]> {
  return [
    ['NewRemoteHost', ''],
    ['NewExternalPort', externalPort],
    ['NewProtocol', 'UDP'],
  ];
}

export type SoapAnswer = { fault: false; values: Map<string, string> } | { fault: true; errorCode: number };

/**
 * A SOAP answer: for `<u:ACTIONResponse>`, the text of each of `fields` found in it; for a fault,
 * the UPnP errorCode (718 ConflictInMappingEntry, 725 OnlyPermanentLeasesSupported, ...).
 */
export function parseSoapAnswer(
  xml: string,
  action: IgdAction,
  fields: readonly string[],
): Parsed<SoapAnswer> {
  if (xml.length > MAX_XML) return refuse('bad-xml');
  const fault = /<(?:[\w-]+:)?Fault[\s>]/.test(xml);
  if (fault) {
    const code = elementText(xml, 'errorCode');
    if (code === null || !/^\d{1,4}$/.test(code)) return refuse('bad-xml');
    return accept({ fault: true, errorCode: Number(code) });
  }
  // An answer with no values may be an empty element, as miniupnpd writes AddPortMapping's.
  const empty = new RegExp(`<(?:[\\w-]+:)?${action}Response(?:\\s[^>]*)?/>`).exec(xml);
  if (empty !== null && fields.length === 0) return accept({ fault: false, values: new Map() });
  const response = new RegExp(
    `<(?:[\\w-]+:)?${action}Response[\\s>][\\s\\S]*?</(?:[\\w-]+:)?${action}Response>`,
  ).exec(xml);
  if (response === null) return refuse('bad-xml');
  const values = new Map<string, string>();
  for (const field of fields) {
    const text = elementText(response[0], field);
    if (text === null) return refuse('bad-xml');
    values.set(field, text);
  }
  return accept({ fault: false, values });
}

/**
 * The text of the first `<name>` element (any namespace prefix), trimmed; null if it is missing, or
 * holds markup or an entity other than the predefined five.
 */
export function elementText(xml: string, name: string): string | null {
  const m = new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w-]+:)?${name}>`).exec(xml);
  if (m === null) return null;
  const raw = m[1]!;
  if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(raw)) return null;
  return raw
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
