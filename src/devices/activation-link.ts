import { formatActivationCode } from './activations.js';
import { DEVICE_API_PREFIX } from './device-routes.js';

/**
 * What "Generate Activation Code" hands the user: the activation URL and the code to type into the app, and the
 * link the QR code carries, which opens the authenticator app at /app with both (in the fragment, so neither
 * reaches a server log).
 */
export function activationDetails(
  publicUrl: string,
  ticket: { id: string; code: string; expiresAt: number },
) {
  const url = `${publicUrl}${DEVICE_API_PREFIX}/activations/${ticket.id}`;
  return {
    activationUrl: url,
    code: formatActivationCode(ticket.code),
    link: `${publicUrl}/app/#url=${encodeURIComponent(url)}&code=${ticket.code}`,
    expiresAt: new Date(ticket.expiresAt).toISOString(),
  };
}
