/**
 * CRC-64/XZ (the ECMA-182 polynomial, reflected, as OSS's `x-oss-hash-crc64ecma` and FC's
 * `codeChecksum` use it), as an unsigned decimal string like FC returns it.
 * @example crc64('123456789') // '11051210869376104954' (0x995dc9bbdf1939fa)
 */
const POLY = 0xc96c5795d7870f42n;
const MASK = 0xffffffffffffffffn;

const TABLE: bigint[] = Array.from({ length: 256 }, (_, n) => {
  let crc = BigInt(n);
  for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ POLY : crc >> 1n;
  return crc;
});

export function crc64(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = MASK;
  for (const byte of bytes) crc = TABLE[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n);
  return ((crc ^ MASK) & MASK).toString();
}
