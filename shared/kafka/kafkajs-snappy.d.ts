// kafkajs-snappy ships no types; this is the whole of its public surface.
declare module 'kafkajs-snappy' {
  interface SnappyCodec {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
    decompress(buffer: Buffer): Promise<Buffer>;
  }
  const createSnappyCodec: () => SnappyCodec;
  export default createSnappyCodec;
}
