import { describe, expect, it } from 'vitest';
import {
  addPortMappingArgs,
  buildSoapRequest,
  deletePortMappingArgs,
  elementText,
  parseDescription,
  parseSoapAnswer,
} from './igd.js';
import { buildMSearch, parseSsdpAnswer } from './ssdp.js';

const GW = '192.168.10.1';
const enc = (s: string) => new TextEncoder().encode(s);

/** As miniupnpd 2.3 answers an M-SEARCH. */
const SSDP_ANSWER =
  'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n' +
  'USN: uuid:1234::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\n' +
  'SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: http://192.168.10.1:5000/rootDesc.xml\r\n\r\n';

/** The part of miniupnpd's rootDesc.xml that matters, nested as it nests it. */
const DESCRIPTION = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceList><device><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service>
</serviceList></device></deviceList></device></deviceList></device></root>`;

describe('SSDP', () => {
  it('searches for an IGD and reads the LOCATION of its answer', () => {
    const search = new TextDecoder().decode(buildMSearch());
    expect(search).toMatch(/^M-SEARCH \* HTTP\/1\.1\r\n/);
    expect(search).toContain('ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n');
    expect(search.endsWith('\r\n\r\n')).toBe(true);
    const parsed = parseSsdpAnswer(enc(SSDP_ANSWER), GW);
    expect(parsed.ok && parsed.value.location.href).toBe('http://192.168.10.1:5000/rootDesc.xml');
  });

  it('refuses answers that are not a 200, are malformed, or send us to another host', () => {
    const cases: Array<[string, string]> = [
      ['NOTIFY * HTTP/1.1\r\n\r\n', 'bad-http'],
      [SSDP_ANSWER.replace('EXT:', 'EXT'), 'bad-http'],
      [SSDP_ANSWER + 'x'.repeat(2048), 'bad-http'],
      [SSDP_ANSWER.replace(/LOCATION: [^\r]*\r\n/, ''), 'bad-location'],
      [SSDP_ANSWER.replace('192.168.10.1:5000', '203.0.113.9:5000'), 'bad-location'],
      [SSDP_ANSWER.replace('http://', 'file://'), 'bad-location'],
      [SSDP_ANSWER.replace('http://', 'http://u:p@'), 'bad-location'],
      [SSDP_ANSWER.replace('http://192', 'http//192'), 'bad-location'],
    ];
    for (const [text, refusal] of cases)
      expect(parseSsdpAnswer(enc(text), GW)).toEqual({ ok: false, refusal });
    expect(parseSsdpAnswer(Uint8Array.of(0xff, 0xfe), GW)).toEqual({ ok: false, refusal: 'bad-http' });
  });
});

describe('UPnP IGD', () => {
  const location = new URL('http://192.168.10.1:5000/rootDesc.xml');

  it('finds the WAN connection service and its control URL on the gateway', () => {
    const parsed = parseDescription(DESCRIPTION, location, GW);
    expect(parsed.ok && parsed.value.serviceType).toBe('urn:schemas-upnp-org:service:WANIPConnection:1');
    expect(parsed.ok && parsed.value.controlUrl.href).toBe('http://192.168.10.1:5000/ctl/IPConn');
    const v2 = DESCRIPTION.replace(
      '</serviceList></device></deviceList></device></deviceList>',
      '<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>/ctl/IP2</controlURL></service></serviceList></device></deviceList></device></deviceList>',
    );
    const best = parseDescription(v2, location, GW);
    expect(best.ok && best.value.controlUrl.pathname).toBe('/ctl/IP2');
  });

  it('refuses a description without a WAN service, oversized, or pointing elsewhere', () => {
    expect(
      parseDescription(DESCRIPTION.replace(/WANIPConnection/g, 'WANFooConnection'), location, GW),
    ).toEqual({
      ok: false,
      refusal: 'no-igd-service',
    });
    expect(parseDescription(DESCRIPTION + ' '.repeat(70_000), location, GW)).toEqual({
      ok: false,
      refusal: 'bad-xml',
    });
    expect(
      parseDescription(DESCRIPTION.replace('/ctl/IPConn', 'http://203.0.113.9/ctl'), location, GW),
    ).toEqual({
      ok: false,
      refusal: 'bad-location',
    });
    expect(
      parseDescription(
        DESCRIPTION.replace('<device>', '<URLBase>http://10.9.9.9:1/</URLBase><device>'),
        location,
        GW,
      ),
    ).toEqual({ ok: false, refusal: 'bad-location' });
  });

  it('builds SOAP calls with escaped arguments and reads answers and faults', () => {
    const type = 'urn:schemas-upnp-org:service:WANIPConnection:1';
    const add = buildSoapRequest(
      type,
      'AddPortMapping',
      addPortMappingArgs({
        externalPort: 51820,
        internalPort: 51820,
        internalClient: '192.168.10.2',
        lease: 7200,
        description: 'burrow <1>',
      }),
    );
    expect(add.headers.SOAPAction).toBe(`"${type}#AddPortMapping"`);
    expect(add.body).toContain(
      `<u:AddPortMapping xmlns:u="${type}"><NewRemoteHost></NewRemoteHost><NewExternalPort>51820</NewExternalPort><NewProtocol>UDP</NewProtocol>`,
    );
    expect(add.body).toContain(
      '<NewPortMappingDescription>burrow &lt;1&gt;</NewPortMappingDescription><NewLeaseDuration>7200</NewLeaseDuration>',
    );
    expect(buildSoapRequest(type, 'DeletePortMapping', deletePortMappingArgs(40001)).body).toContain(
      '<NewExternalPort>40001</NewExternalPort><NewProtocol>UDP</NewProtocol>',
    );
    const ok = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:GetExternalIPAddressResponse xmlns:u="${type}"><NewExternalIPAddress>203.0.113.7</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>`;
    const read = parseSoapAnswer(ok, 'GetExternalIPAddress', ['NewExternalIPAddress']);
    expect(read.ok && !read.value.fault && read.value.values.get('NewExternalIPAddress')).toBe('203.0.113.7');
    const fault = `<s:Envelope><s:Body><s:Fault><faultcode>s:Client</faultcode><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`;
    expect(parseSoapAnswer(fault, 'AddPortMapping', [])).toEqual({
      ok: true,
      value: { fault: true, errorCode: 718 },
    });
    expect(parseSoapAnswer(ok, 'AddAnyPortMapping', ['NewReservedPort'])).toEqual({
      ok: false,
      refusal: 'bad-xml',
    });
    expect(
      parseSoapAnswer(ok.replace('203.0.113.7', '<b>x</b>'), 'GetExternalIPAddress', [
        'NewExternalIPAddress',
      ]),
    ).toEqual({
      ok: false,
      refusal: 'bad-xml',
    });
    expect(parseSoapAnswer(fault.replace('718', 'x'), 'AddPortMapping', [])).toEqual({
      ok: false,
      refusal: 'bad-xml',
    });
  });

  it('takes only plain text and the predefined entities from an element', () => {
    expect(elementText('<a:b x="1"> 1 &amp; 2 </a:b>', 'b')).toBe('1 & 2');
    expect(elementText('<b>&xxe;</b>', 'b')).toBeNull();
    expect(elementText('<b><![CDATA[x]]></b>', 'b')).toBeNull();
  });
});
