/**
 * Socket.IO side of the principal (`io.use`): the handshake presents its key as
 * `auth: { apiKey }` (browsers) or an `Authorization: Bearer` header (other
 * clients). With keys configured a handshake without a valid key is refused
 * with `connect_error` "UNAUTHENTICATED: ..."; the principal lands in
 * `socket.data.principal`.
 */
import type { Socket } from 'socket.io';
import type { Authenticator, Principal } from './principal.js';

export const SOCKET_UNAUTHENTICATED = 'UNAUTHENTICATED: this master needs an API key (auth: { apiKey })';

export function socketAuth(auth: Authenticator) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const given = (socket.handshake.auth as { apiKey?: unknown } | undefined)?.apiKey;
    const principal = typeof given === 'string' && given ? auth.resolve(given) : auth.fromAuthorization(socket.handshake.headers.authorization);
    if (!principal) return next(Object.assign(new Error(SOCKET_UNAUTHENTICATED), { data: { code: 'UNAUTHENTICATED' } }));
    (socket.data as { principal?: Principal }).principal = principal;
    next();
  };
}
