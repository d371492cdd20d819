import { createHmac } from 'node:crypto';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log.js';
import { createCxmlMessaging } from './cxml-messaging.js';
import type { MessagingCarrier } from './messaging-port.js';
import { createRelayMessaging } from './relay-messaging.js';

export const SIMULATOR_PROJECT_ID = 'simulator-project';

/** The simulator's REST credentials: derived from the signing key, so every engine process agrees on them. */
export function simulatorApiToken(signingKey: string): string {
  return createHmac('sha256', signingKey).update('simulator-api-token').digest('base64url');
}

export function selectCarrier(config: Config, logger: Logger): MessagingCarrier {
  const sw = config.signalwire;
  switch (config.carrier) {
    case 'simulator':
      // The simulator is a fake space on this server: outbound texts take the real cXML REST path.
      return createCxmlMessaging({
        name: 'simulator',
        spaceUrl: `${config.publicUrl}/dev/carrier/space`,
        projectId: SIMULATOR_PROJECT_ID,
        apiToken: simulatorApiToken(config.signingKey),
      });
    case 'signalwire-cxml':
      return createCxmlMessaging({
        spaceUrl: sw.spaceUrl ?? '',
        projectId: sw.projectId ?? '',
        apiToken: sw.apiToken ?? '',
      });
    case 'signalwire-relay':
      return createRelayMessaging(
        {
          project: sw.projectId ?? '',
          token: sw.apiToken ?? '',
          topics: sw.relayTopics,
          connectTimeoutMs: sw.connectTimeoutMs,
        },
        { logger },
      );
  }
}
