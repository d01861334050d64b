import type { Sql } from '../sql.js';
import { hostLabel, withSuffix } from '../validate.js';

export interface DeviceName {
  name: string;
  base: string;
  suffix: number;
}

/**
 * A free name in the network for a device calling itself `hostname`: its label if free, else the
 * label with the next suffix after the highest in use ("host", "host-1", "host-2", ...). Suffixes
 * are not refilled, so a name that was "host-2" is not reused for a while either. One index lookup,
 * however many devices share the label; the loop only runs on if someone renamed a device to
 * exactly "host-N".
 */
export async function freeDeviceName(sql: Sql, networkId: string, hostname: string): Promise<DeviceName> {
  const base = hostLabel(hostname);
  const taken = async (name: string) =>
    await sql.get('SELECT 1 FROM devices WHERE network_id = ? AND name = ?', networkId, name);
  if (!(await taken(base))) return { name: base, base, suffix: 0 };
  const highest =
    (
      await sql.get<{ n: number | null }>(
        'SELECT max(name_suffix) AS n FROM devices WHERE network_id = ? AND name_base = ?',
        networkId,
        base,
      )
    )?.n ?? 0;
  let suffix = highest + 1;
  while (await taken(withSuffix(base, suffix))) suffix++;
  return { name: withSuffix(base, suffix), base, suffix };
}
