// Why a server could not listen, as the user's error: one mapping for the balancer, the status
// server and the controller's metrics port. A port in use or a privileged port is HR_PORT_IN_USE
// at the port's key; a host that is no local address (EADDRNOTAVAIL) or does not resolve
// (ENOTFOUND) is HR_SPEC_INVALID at the host's key. Anything else is not the user's input: undefined.
import { HeadroomError } from '../core/errors.ts';

export interface ListenAt {
  /** "the load balancer", "the status server". */
  what: string;
  host: string;
  port: number;
  portKey: string;
  hostKey: string;
}

export function listenError(err: unknown, at: ListenAt): HeadroomError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${at.what} cannot listen on ${at.host}:${at.port}`;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    return new HeadroomError({
      code: 'HR_PORT_IN_USE',
      message: `${where}: ${code === 'EACCES' ? 'permission denied' : 'the port is in use'}`,
      path: at.portKey,
      value: at.port,
      allowed: 'a free port (0 = any free port)',
    });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new HeadroomError({
      code: 'HR_SPEC_INVALID',
      message: `${where}: ${code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : 'the host name does not resolve'}`,
      path: at.hostKey,
      value: at.host,
      allowed: 'an address of this machine: 127.0.0.1, ::1, 0.0.0.0 (every interface) or a local interface',
    });
  }
  return undefined;
}
