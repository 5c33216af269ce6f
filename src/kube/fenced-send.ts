// The last moment a write can be refused: a request whose sender must be allowed to send it (the leader's
// write fence) is held until its connection is open, then checked and written in one synchronous stretch, so
// that neither a connection's set-up nor a stalled process's other callbacks come between the two.
import type http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';

/** Whether a socket can carry a request now, or is still connecting (TCP, then the TLS handshake). */
function established(socket: net.Socket): boolean {
  // Stryker disable next-line ConditionalExpression: an agent hands over a TLS socket either still connecting or with its handshake done.
  if (socket instanceof tls.TLSSocket) return socket.authorized || Boolean(socket.authorizationError);
  return !socket.connecting;
}

/**
 * Ends `req` with `data` once its connection is open, right after `allowed()` returns. When it throws, nothing
 * is written: `refused` gets what it threw, then the request is destroyed.
 */
export function endWhenConnected(req: http.ClientRequest, data: string | undefined, allowed: () => void,
  refused: (err: unknown) => void): void {
  const send = () => {
    try {
      allowed();
    } catch (err) {
      refused(err);
      req.destroy();
      return;
    }
    req.end(data);
  };
  req.once('socket', (socket: net.Socket) => {
    if (established(socket)) send();
    else socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', send);
  });
}
