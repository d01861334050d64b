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

/**
 * GETs or POSTs `url` and reads at most MAX_XML bytes of its body; null past the bound. `abort`
 * ends it early (the port mapper closing).
 */
async function fetchBounded(url: URL, init: RequestInit = {}, abort?: AbortSignal): Promise<string | null> {
  const timeout = AbortSignal.timeout(HTTP_TIMEOUT_MS);
  const response = await fetch(url, {
    ...init,
    redirect: 'error',
    signal: abort ? AbortSignal.any([timeout, abort]) : timeout,
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

export async function fetchIgdService(
  location: URL,
  gateway: string,
  abort?: AbortSignal,
): Promise<Parsed<IgdService>> {
  const xml = await fetchBounded(location, {}, abort);
  if (xml === null) return { ok: false, refusal: 'bad-xml' };
  return parseDescription(xml, location, gateway);
}

async function call(
  service: IgdService,
  action: IgdAction,
  args: ReadonlyArray<readonly [string, string | number]>,
  fields: readonly string[],
  abort?: AbortSignal,
): Promise<Parsed<SoapAnswer>> {
  const request = buildSoapRequest(service.serviceType, action, args);
  const xml = await fetchBounded(
    service.controlUrl,
    { method: 'POST', headers: request.headers, body: request.body },
    abort,
  );
  if (xml === null) return { ok: false, refusal: 'bad-xml' };
  return parseSoapAnswer(xml, action, fields);
}

export async function getExternalAddress(
  service: IgdService,
  abort?: AbortSignal,
): Promise<Parsed<SoapAnswer>> {
  return call(service, 'GetExternalIPAddress', [], ['NewExternalIPAddress'], abort);
}

/**
 * Maps UDP `internalPort` for `lease` seconds: the same external port first, then (IGD v2) any
 * port the gateway picks. Answers the external port, or the answer that refused.
 */
export async function addMapping(
  service: IgdService,
  options: { internalPort: number; internalClient: string; lease: number; description: string },
  abort?: AbortSignal,
): Promise<{ port: number } | { refused: Parsed<SoapAnswer> }> {
  const args = addPortMappingArgs({ ...options, externalPort: options.internalPort });
  const first = await call(service, 'AddPortMapping', args, [], abort);
  if (first.ok && !first.value.fault) return { port: options.internalPort };
  if (!service.serviceType.endsWith(':2')) return { refused: first };
  const any = await call(service, 'AddAnyPortMapping', args, ['NewReservedPort'], abort);
  if (!any.ok || any.value.fault) return { refused: any };
  const port = Number(any.value.values.get('NewReservedPort'));
  if (!Number.isInteger(port) || port < 1 || port > 0xffff)
    return { refused: { ok: false, refusal: 'bad-address' } };
  return { port };
}

export async function deleteMapping(service: IgdService, externalPort: number): Promise<Parsed<SoapAnswer>> {
  return call(service, 'DeletePortMapping', deletePortMappingArgs(externalPort), []);
}
