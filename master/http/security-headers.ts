/**
 * Security headers on every HTTP answer (helmet): a Content-Security-Policy
 * that lets the web UI load only its own scripts, styles and socket
 * (`frame-ancestors 'none'` too), X-Frame-Options DENY, nosniff and
 * `Referrer-Policy: no-referrer`. No HSTS or upgrade-insecure-requests: the
 * master speaks plain HTTP (TLS is a reverse proxy's job), and upgrading would
 * break the UI on a LAN address.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'connect-src': ["'self'"],
        'font-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
