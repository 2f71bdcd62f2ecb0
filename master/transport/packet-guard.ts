/**
 * MQTT framing guard in front of the broker's packet parser: reads only each
 * packet's fixed header (type byte + remaining-length varint) and refuses a
 * packet whose announced size is over the limit before any of its body is
 * buffered. Until the client has logged in the limit is small (a CONNECT with
 * its Will); after login it is the documented packet limit.
 */

export interface PacketLimits {
  /** Largest packet before login (CONNECT with Will and credentials), bytes. */
  beforeLogin: number;
  /** Largest packet after login, bytes. */
  afterLogin: number;
}

export class PacketTooLargeError extends Error {
  readonly code = 'MQTT_PACKET_TOO_LARGE';
  constructor(
    readonly announced: number,
    readonly limit: number,
  ) {
    super(`MQTT packet of ${announced} bytes is over the ${limit}-byte limit`);
  }
}

/**
 * Stateful scanner over a connection's byte stream. `feed` returns an error
 * for the first packet over the limit (the caller closes the connection) and
 * undefined otherwise.
 */
export class PacketGuard {
  private inBody = 0; // body bytes of the current packet still to skip
  private header: number[] = []; // bytes of the fixed header being read
  constructor(
    private readonly limits: PacketLimits,
    private readonly loggedIn: () => boolean,
  ) {}

  feed(buf: Buffer): PacketTooLargeError | undefined {
    let i = 0;
    while (i < buf.length) {
      if (this.inBody > 0) {
        const n = Math.min(this.inBody, buf.length - i);
        this.inBody -= n;
        i += n;
        continue;
      }
      const byte = buf[i++]!;
      this.header.push(byte);
      if (this.header.length === 1) continue; // packet type byte
      const lengthBytes = this.header.length - 1;
      if (byte & 0x80) {
        if (lengthBytes >= 4) return new PacketTooLargeError(Number.POSITIVE_INFINITY, this.limit());
        continue;
      }
      let remaining = 0;
      for (let k = lengthBytes; k >= 1; k--) remaining = remaining * 128 + (this.header[k]! & 0x7f);
      const total = 1 + lengthBytes + remaining;
      const limit = this.limit();
      if (total > limit) return new PacketTooLargeError(total, limit);
      this.header = [];
      this.inBody = remaining;
    }
    return undefined;
  }

  private limit(): number {
    return this.loggedIn() ? this.limits.afterLogin : this.limits.beforeLogin;
  }
}
