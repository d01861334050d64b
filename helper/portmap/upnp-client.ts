/**
 * The UPnP IGD side of the port mapper: the device description and the SOAP calls over HTTP, on
 * the gateway only (the codecs refuse a LOCATION or control URL anywhere else), each bounded in
 * time and size.
 */
import {
  addPortMappingArgs,
  buildSoapRequest,
  deletePortMappingArgs,
  type IgdAction,
  type IgdService,
  MAX_XML,
  parseDescription,
  parseSoapAnswer,
  type SoapAnswer,
} from '../../src/portmap/igd.js';
import type { Parsed } from '../../src/portmap/refusals.js';

const HTTP_TIMEOUT_MS = 2000;

/** GETs or POSTs `url` and reads at most MAX_XML bytes of its body; null past the bound. */
async function fetchBounded(url: URL, init: RequestInit = {}): Promise<string | null> {
  const response = await fetch(url, {
    ...init,
    redirect: 'error',
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_XML) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function fetchIgdService(location: URL, gateway: string): Promise<Parsed<IgdService>> {
  const xml = await fetchBounded(location);
  if (xml === null) return { ok: false, refusal: 'bad-xml' };
  return parseDescription(xml, location, gateway);
}

async function call(
  service: IgdService,
  action: IgdAction,
  args: ReadonlyArray<readonly [string, string | number]>,
  fields: readonly string[],
): Promise<Parsed<SoapAnswer>> {
  const request = buildSoapRequest(service.serviceType, action, args);
  const xml = await fetchBounded(service.controlUrl, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  if (xml === null) return { ok: false, refusal: 'bad-xml' };
  return parseSoapAnswer(xml, action, fields);
}

export async function getExternalAddress(service: IgdService): Promise<Parsed<SoapAnswer>> {
  return call(service, 'GetExternalIPAddress', [], ['NewExternalIPAddress']);
}

/**
 * Maps UDP `internalPort` for `lease` seconds: the same external port first, then (IGD v2) any
 * port the gateway picks. Answers the external port, or the answer that refused.
 */
export async function addMapping(
  service: IgdService,
  options: { internalPort: number; internalClient: string; lease: number; description: string },
): Promise<{ port: number } | { refused: Parsed<SoapAnswer> }> {
  const args = addPortMappingArgs({ ...options, externalPort: options.internalPort });
  const first = await call(service, 'AddPortMapping', args, []);
  if (first.ok && !first.value.fault) return { port: options.internalPort };
  if (!service.serviceType.endsWith(':2')) return { refused: first };
  const any = await call(service, 'AddAnyPortMapping', args, ['NewReservedPort']);
  if (!any.ok || any.value.fault) return { refused: any };
  const port = Number(any.value.values.get('NewReservedPort'));
  if (!Number.isInteger(port) || port < 1 || port > 0xffff)
    return { refused: { ok: false, refusal: 'bad-address' } };
  return { port };
}

export async function deleteMapping(service: IgdService, externalPort: number): Promise<Parsed<SoapAnswer>> {
  return call(service, 'DeletePortMapping', deletePortMappingArgs(externalPort), []);
}
